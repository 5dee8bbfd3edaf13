# Fails when a user-visible string has no German translation: refreshes a copy of the .ts file
# from the sources with lupdate, then lets lrelease count what is unfinished.
# cmake -DLUPDATE=... -DLRELEASE=... -DTS_FILE=... -DWORK_DIR=... -DSOURCES="a.cpp|b.cpp" -P ...
string(REPLACE "|" ";" SOURCES "${SOURCES}")
file(COPY "${TS_FILE}" DESTINATION "${WORK_DIR}")
get_filename_component(name "${TS_FILE}" NAME)
set(copy "${WORK_DIR}/${name}")
execute_process(COMMAND "${LUPDATE}" -no-obsolete -locations none ${SOURCES} -ts "${copy}"
    RESULT_VARIABLE status OUTPUT_QUIET ERROR_QUIET)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "lupdate failed")
endif()
execute_process(COMMAND "${LRELEASE}" "${copy}" -qm "${WORK_DIR}/check.qm"
    OUTPUT_VARIABLE output ERROR_VARIABLE output RESULT_VARIABLE status)
message("${output}")
if(NOT status EQUAL 0 OR NOT output MATCHES " 0 unfinished" OR output MATCHES "untranslated")
    message(FATAL_ERROR "${name} is incomplete: run the update_translations target and translate "
                        "what it added")
endif()

#include "EngineLogging.h"

Q_LOGGING_CATEGORY(lcEngine, "wstunnel.core.engine", QtInfoMsg)

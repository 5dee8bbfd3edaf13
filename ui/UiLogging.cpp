#include "UiLogging.h"

Q_LOGGING_CATEGORY(lcUi, "wstunnel.ui", QtInfoMsg)

#include "Logging.h"

Q_LOGGING_CATEGORY(lcProtocol, "wstunnel.core.protocol", QtInfoMsg)
Q_LOGGING_CATEGORY(lcNet, "wstunnel.core.net", QtInfoMsg)
Q_LOGGING_CATEGORY(lcSession, "wstunnel.core.session", QtInfoMsg)
Q_LOGGING_CATEGORY(lcServer, "wstunnel.core.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcClient, "wstunnel.core.client", QtInfoMsg)
Q_LOGGING_CATEGORY(lcConfig, "wstunnel.core.config", QtInfoMsg)

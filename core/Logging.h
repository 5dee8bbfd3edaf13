#pragma once

#include <QLoggingCategory>

// One category per module, switched with QT_LOGGING_RULES (e.g.
// "wstunnel.core.session.debug=true").
Q_DECLARE_LOGGING_CATEGORY(lcProtocol) // wstunnel.core.protocol
Q_DECLARE_LOGGING_CATEGORY(lcNet)      // wstunnel.core.net
Q_DECLARE_LOGGING_CATEGORY(lcSession)  // wstunnel.core.session
Q_DECLARE_LOGGING_CATEGORY(lcServer)   // wstunnel.core.server
Q_DECLARE_LOGGING_CATEGORY(lcClient)   // wstunnel.core.client
Q_DECLARE_LOGGING_CATEGORY(lcConfig)   // wstunnel.core.config

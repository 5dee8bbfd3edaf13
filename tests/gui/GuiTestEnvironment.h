#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtGlobal>

// Keeps the GUI tests away from the user's configuration, keychain and ports.
inline void isolateGuiTest()
{
    QStandardPaths::setTestModeEnabled(true);
    qputenv("WSTUNNEL_SECRET_BACKEND", "file");
}

// A loopback port that nothing listens on right now.
inline quint16 unusedLoopbackPort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

inline bool loopbackPortFree(quint16 port)
{
    QTcpServer probe;
    return probe.listen(QHostAddress::LocalHost, port);
}

#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
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

// Writes payload to a connection to an echo service and returns what came back once as many
// bytes did, the connection ended or ten seconds passed, with the event loop running meanwhile.
inline QByteArray echoThrough(QTcpSocket &client, const QByteArray &payload)
{
    client.write(payload);
    QByteArray echoed;
    [[maybe_unused]] const bool complete = QTest::qWaitFor(
        [&] {
            echoed += client.readAll();
            return echoed.size() >= payload.size() ||
                   client.state() == QAbstractSocket::UnconnectedState;
        },
        10000);
    return echoed;
}

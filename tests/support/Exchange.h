#pragma once

#include <QByteArray>
#include <QHostAddress>

// Sends request through a TCP port and collects as many bytes back (fewer if the connection ends
// first), keeping the event loop, and so any in-process tunnel or server, running while it waits.
QByteArray exchange(quint16 port, const QByteArray &request, int timeoutMs = 10000,
                    const QHostAddress &address = QHostAddress(QHostAddress::LocalHost));

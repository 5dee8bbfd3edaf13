#include "EchoServer.h"

#include <QTcpSocket>

EchoServer::EchoServer(QObject *parent)
    : QTcpServer(parent)
{
    connect(this, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket *socket = nextPendingConnection()) {
            ++m_accepted;
            connect(socket, &QTcpSocket::readyRead, socket,
                    [socket] { socket->write(socket->readAll()); });
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
    setListenBacklogSize(1024);
    listen(QHostAddress::LocalHost, 0);
}

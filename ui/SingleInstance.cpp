#include "SingleInstance.h"

#include "UiLogging.h"

#include <QCryptographicHash>
#include <QLocalServer>
#include <QLocalSocket>
#include <QStandardPaths>

namespace wstunnel {

namespace {

const QByteArray kActivate("activate\n");
constexpr int kLocalTimeoutMs = 2000;

} // namespace

SingleInstance::SingleInstance(QObject *parent)
    : QObject(parent)
{
}

QString SingleInstance::serverName()
{
    const QByteArray folder =
        QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation).toUtf8();
    return QStringLiteral("wstunnel-%1-%2")
        .arg(qEnvironmentVariable("USER", QStringLiteral("user")),
             QString::fromLatin1(
                 QCryptographicHash::hash(folder, QCryptographicHash::Sha256).toHex().left(16)));
}

bool SingleInstance::claim()
{
    const QString name = serverName();
    {
        QLocalSocket socket;
        socket.connectToServer(name);
        if (socket.waitForConnected(kLocalTimeoutMs)) {
            socket.write(kActivate);
            socket.waitForBytesWritten(kLocalTimeoutMs);
            socket.disconnectFromServer();
            qCInfo(lcUi) << "WSTunnel is already running; asked it to show its window";
            return false;
        }
    }
    // Nobody answered, so a socket file left by a crashed instance may go.
    QLocalServer::removeServer(name);
    m_server = new QLocalServer(this);
    m_server->setSocketOptions(QLocalServer::UserAccessOption);
    if (!m_server->listen(name)) {
        qCWarning(lcUi).noquote() << QStringLiteral("cannot listen on %1: %2; a second launch "
                                                    "will not find this one")
                                         .arg(name, m_server->errorString());
        return true;
    }
    connect(m_server, &QLocalServer::newConnection, this, [this] {
        while (QLocalSocket *socket = m_server->nextPendingConnection()) {
            connect(socket, &QLocalSocket::disconnected, socket, &QObject::deleteLater);
            connect(socket, &QLocalSocket::readyRead, this, [this, socket] {
                if (socket->readAll().contains("activate"))
                    Q_EMIT activationRequested();
            });
        }
    });
    return true;
}

} // namespace wstunnel

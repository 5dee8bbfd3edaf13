#include "EmbeddedRemote.h"

#include "EngineLogging.h"
#include "server/TunnelServer.h"

#include <QRandomGenerator>

namespace wstunnel {

EmbeddedRemote::EmbeddedRemote(QObject *parent)
    : QObject(parent)
{
}

EmbeddedRemote::~EmbeddedRemote()
{
    if (m_server)
        m_server->shutdown(QStringLiteral("application closing"));
}

bool EmbeddedRemote::start(QString *error)
{
    if (m_server)
        return true;
    QByteArray random(32, Qt::Uninitialized);
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(random.data()),
                                          random.size() / int(sizeof(quint32)));
    m_token = random.toHex();
    TokenStore tokens;
    tokens.add(m_token, QStringLiteral("the desktop app's own token"));
    AllowList allowList;
    allowList.addRule(QStringLiteral("*:*"), error);
    allowList.addRule(QStringLiteral("*:*/udp"), error);
    ServerSettings settings;
    settings.name = QStringLiteral("this computer");
    auto *server = new TunnelServer(settings, tokens, allowList, this);
    if (!server->listen(error)) {
        delete server;
        return false;
    }
    m_server = server;
    m_url = QUrl(server->url());
    qCInfo(lcEngine).noquote()
        << QStringLiteral("built-in remote listening on %1").arg(server->url());
    return true;
}

} // namespace wstunnel

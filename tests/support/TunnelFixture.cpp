#include "TunnelFixture.h"

#include "forward/ForwardListener.h"
#include "session/TunnelSession.h"

#include <QSignalSpy>
#include <QTest>

using namespace wstunnel;

TunnelFixture::TunnelFixture(SessionLimits limits, const QStringList &allowRules)
    : m_limits(limits)
{
    ServerSettings settings;
    settings.limits = limits;
    TokenStore tokens;
    tokens.add(kToken);
    AllowList allowList;
    QString error;
    for (const QString &rule : allowRules)
        allowList.addRule(rule, &error);
    if (allowList.isEmpty())
        allowList.addLoopbackDefaults();
    m_server = std::make_unique<TunnelServer>(settings, tokens, allowList);
}

bool TunnelFixture::start()
{
    return start({});
}

bool TunnelFixture::start(const std::function<quint16(quint16 serverPort)> &relay)
{
    QString error;
    if (!m_server->listen(&error)) {
        qWarning("%s", qPrintable(error));
        return false;
    }
    ClientSettings settings;
    settings.url = QUrl(m_server->url());
    if (relay)
        settings.url.setPort(relay(quint16(settings.url.port())));
    settings.token = kToken;
    settings.limits = m_limits;
    m_client = std::make_unique<TunnelClient>(settings);
    m_client->start();
    return QTest::qWaitFor([this] { return m_client->state() == TunnelClient::State::Connected; },
                           10000);
}

quint16 TunnelFixture::forwardTo(quint16 targetPort, const QString &targetHost)
{
    ForwardSpec spec;
    spec.targetHost = targetHost;
    spec.targetPort = targetPort;
    TunnelError error;
    ForwardListener *listener = m_client->addLocalForward(spec, &error);
    if (!listener) {
        qWarning("%s", qPrintable(error.toString()));
        return 0;
    }
    return listener->serverPort();
}

DatagramListener *TunnelFixture::forwardDatagramsTo(quint16 targetPort, const QString &targetHost,
                                                    const QString &bindHost)
{
    ForwardSpec spec;
    spec.bindHost = bindHost;
    spec.targetHost = targetHost;
    spec.targetPort = targetPort;
    spec.transport = ChannelTransport::Udp;
    TunnelError error;
    DatagramListener *listener = m_client->addDatagramForward(spec, &error);
    if (!listener)
        qWarning("%s", qPrintable(error.toString()));
    return listener;
}

TunnelSession *TunnelFixture::serverSession() const
{
    const QList<TunnelSession *> sessions = m_server->sessions();
    return sessions.isEmpty() ? nullptr : sessions.first();
}

TunnelSession *TunnelFixture::clientSession() const
{
    return m_client->session();
}

#pragma once

#include "RemoteConfig.h"
#include "TunnelError.h"

#include <QByteArray>
#include <QObject>

namespace wstunnel {

class TunnelClient;

// Connects once to a remote as its settings say, without any mapping, to tell the user whether
// it works: reachable, TLS accepted, token accepted, and who answered. Never retries; at most
// one attempt at a time.
class ConnectionProbe : public QObject
{
    Q_OBJECT

public:
    struct Result
    {
        // Empty when the session came up.
        TunnelError error;
        // From the remote's hello, once the session came up.
        QString peerName;
        quint16 protocolVersion = 0;
        bool tls = false;
    };

    explicit ConnectionProbe(QObject *parent = nullptr);
    ~ConnectionProbe() override;

    void start(const RemoteConfig &remote, const QByteArray &token);
    bool isRunning() const { return m_client != nullptr; }

Q_SIGNALS:
    void finished(const wstunnel::ConnectionProbe::Result &result);

private:
    void finish(const Result &result);

    TunnelClient *m_client = nullptr;
    bool m_tls = false;
};

} // namespace wstunnel

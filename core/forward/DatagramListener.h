#pragma once

#include "ChannelGroup.h"
#include "net/SocketAddress.h"
#include "util/RecencyList.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QPointer>

class QSocketNotifier;

namespace wstunnel {

class DatagramFlow;
class TunnelSession;

// Listens on a local UDP port and carries every source address:port that sends to it as one
// flow, a datagram channel of its own through the current session to a fixed target; replies go
// back to the source they belong to. The UDP counterpart of ForwardListener: used by -L …/udp on
// the desktop and by -R …/udp on the remote.
//
// It never makes a source wait and never queues: datagrams that arrive while there is no
// session, that are larger than 65,507 bytes, that a flow's channel cannot send, or that the
// kernel could not buffer while the event loop was busy are dropped and counted. A new source
// beyond maxFlows() evicts the least recently used flow; idle flows are ended by the session
// (SessionLimits::datagramIdleTimeoutMs).
class DatagramListener : public QObject, public ChannelGroup
{
    Q_OBJECT

public:
    static constexpr int kDefaultMaxFlows = 1024;

    DatagramListener(const QString &targetHost, quint16 targetPort, QObject *parent = nullptr);
    ~DatagramListener() override;

    // Binds address:port; on failure the message names the address and the cause.
    bool start(const QHostAddress &address, quint16 port, QString *error);
    // Why start() failed, for typed errors: the system's words, and whether the port was taken.
    QString errorString() const { return m_errorString; }
    bool addressInUse() const { return m_addressInUse; }
    // Stops listening; the flows stay until closeChannels().
    void close();
    void setSession(TunnelSession *session);
    void setTarget(const QString &host, quint16 port);
    void setMaxFlows(int maxFlows) { m_maxFlows = qMax(1, maxFlows); }
    int maxFlows() const { return m_maxFlows; }

    QString targetHost() const { return m_targetHost; }
    quint16 targetPort() const { return m_targetPort; }
    quint16 serverPort() const { return m_boundAddress.port(); }
    QString localEndpoint() const;
    // HOST:PORT/udp.
    QString target() const;
    int flowCount() const { return int(m_flows.size()); }
    // Datagrams dropped on this mapping, those of its flows included.
    quint64 datagramsDropped() const;
    quint64 flowsEvicted() const { return m_flowsEvicted; }

    // For its flows: sends a reply to the flow's source (returns the bytes sent, or 0 when the
    // datagram was dropped), and forgets a flow whose channel ended.
    qint64 sendToSource(DatagramFlow *flow, QByteArrayView datagram);
    void forgetFlow(DatagramFlow *flow);

Q_SIGNALS:
    void channelOpened(wstunnel::Channel *channel);
    void channelClosed(const wstunnel::ChannelSummary &summary);
    // A datagram arrived while there is no session, or it is held.
    void sessionWanted();

private:
    void readDatagrams();
    DatagramFlow *openFlow(const SocketAddress &source, const QByteArray &key);

    QString m_targetHost;
    quint16 m_targetPort;
    QPointer<TunnelSession> m_session;
    bool m_peerTakesDatagrams = false;
    int m_maxFlows = kDefaultMaxFlows;
    int m_fd = -1;
    QString m_errorString;
    bool m_addressInUse = false;
    QSocketNotifier *m_notifier = nullptr;
    SocketAddress m_boundAddress;
    bool m_allInterfaces = false; // bound dual-stack
    QByteArray m_buffer;
    QHash<QByteArray, DatagramFlow *> m_flows; // by SocketAddress::key() of the source
    RecencyList<DatagramFlow *> m_recency;
    QElapsedTimer m_clock;
    quint64 m_dropped = 0;       // before any flow took them
    quint64 m_kernelDropped = 0; // by the kernel, while this socket's buffer was full
    quint64 m_finishedFlowsDropped = 0;
    quint64 m_flowsEvicted = 0;
};

} // namespace wstunnel

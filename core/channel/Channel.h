#pragma once

#include "protocol/ChannelWindow.h"
#include "protocol/Message.h"
#include "protocol/ReceiveWindowTuner.h"

#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QString>

#include <memory>

namespace wstunnel {

class ChannelEndpoint;
class ChannelHost;
struct TargetResolution;

// What a finished channel did, for logs and the traffic views.
struct ChannelSummary
{
    quint32 id = 0;
    QString peer;
    QString target;
    quint64 bytesIn = 0;  // from the tunnel to the local socket
    quint64 bytesOut = 0; // from the local socket into the tunnel
    qint64 durationMs = 0;
    QString error; // empty for an orderly end
    // Datagram channels: datagrams carried each way, and those dropped because they did not fit
    // the window, the link or the local socket.
    bool datagram = false;
    quint64 datagramsIn = 0;
    quint64 datagramsOut = 0;
    quint64 droppedIn = 0;
    quint64 droppedOut = 0;
};

// The protocol state of one channel of a session (docs/PROTOCOL.md): its id, byte offsets and
// flow control in both directions, early data, half-close and reset. What it carries to on this
// side is its endpoint (a TCP stream, a UDP flow); what it sends goes through its host, the
// session.
//
// A datagram channel (its endpoint's transport is UDP) sends one datagram per data message and
// never makes its source wait: a datagram that does not fit the peer's window or the link is
// dropped and counted. Before open-ok it holds what does not fit the early window, up to one
// largest datagram. It has no half-close; it ends by reset, idle expiry or eviction.
class Channel : public QObject
{
    Q_OBJECT

public:
    enum class State { Opening, Open, Closed };

    // Takes ownership of the endpoint.
    Channel(ChannelHost *host, quint32 id, ChannelEndpoint *endpoint, const QString &peer,
            const QString &target, quint32 receiveWindow, QObject *parent = nullptr);

    quint32 id() const { return m_id; }
    State state() const { return m_state; }
    QString peer() const { return m_peer; }
    QString target() const { return m_target; }
    // For the log lines, once a policy has mapped the target the peer asked for to a real one:
    // a reverse forward's peer asks for the port it listens on, which means a local target.
    void setEndpoints(const QString &peer, const QString &target)
    {
        m_peer = peer;
        m_target = target;
    }
    quint64 bytesIn() const { return m_bytesIn; }
    quint64 bytesOut() const { return m_bytesOut; }
    qint64 ageMs() const { return m_age.elapsed(); }
    quint64 buffered() const { return m_window.buffered(); }
    // The receive window announced last (it grows with autotuning).
    quint32 receiveWindow() const { return m_window.receiveWindow(); }
    bool isDatagram() const { return m_datagram != nullptr; }
    quint64 datagramsIn() const { return m_datagram ? m_datagram->in : 0; }
    quint64 datagramsOut() const { return m_datagram ? m_datagram->out : 0; }
    quint64 droppedIn() const { return m_datagram ? m_datagram->droppedIn : 0; }
    quint64 droppedOut() const { return m_datagram ? m_datagram->droppedOut : 0; }
    ChannelSummary summary() const;
    // "channel ID PEER -> TARGET:", how the debug lines begin.
    QString label() const;

    // Closes the channel from this side, resetting both ends.
    void abortChannel(const QString &reason);
    // Ends a datagram channel, telling the peer why: TimedOut for idle expiry (an orderly end of
    // a flow), LimitReached for eviction (an error).
    void endFlow(FailureCode code, const QString &reason);

    // Driven by the session.
    void setPeerWindow(quint32 window) { m_window.setPeerWindow(window); }
    // Protocol version 2: as the opener, read and send up to window bytes before open-ok; as the
    // acceptor, take up to window bytes before the target is connected and write them then.
    void sendEarly(quint32 window);
    void acceptEarly(quint32 window) { m_earlyReceiveLimit = window; }
    void connectTarget(const TargetResolution &resolution, int timeoutMs);
    void handleOpenOk(quint32 window);
    void handleOpenFailed(FailureCode code, const QString &reason);
    QString handleData(quint64 offset, QByteArrayView payload);
    QString handleCredit(quint64 consumed, quint32 window);
    QString handleFin(quint64 finalOffset);
    void handleReset(FailureCode code, const QString &reason);
    void resumeReading();
    // Ends the channel without telling the peer (the session is gone).
    void drop(const QString &reason);

Q_SIGNALS:
    void opened();
    // The channel could not be opened: its target failed here, or the far side said open-failed.
    // In the latter case it comes before the endpoint is aborted, so that the endpoint can still
    // tell its client why (a SOCKS reply).
    void openFailed(wstunnel::FailureCode code);
    void finished(const wstunnel::ChannelSummary &summary);

private:
    bool sending() const;
    void readLocal();
    void readDatagrams();
    bool fits(qint64 size) const;
    void sendDatagram(QByteArrayView datagram);
    QString deliver(QByteArrayView payload);
    QString deliverDatagram(QByteArrayView datagram);
    void consumed(qint64 bytes);
    void sendCredit();
    void reset(FailureCode code, const QString &reason);
    void maybeFinish();
    void finish(const QString &error);

    ChannelHost *m_host;
    quint32 m_id;
    ChannelEndpoint *m_endpoint;
    QString m_peer;
    QString m_target;
    ChannelWindow m_window;
    // Stream channels of a tuning host, once they have taken
    // ReceiveWindowTuner::kLocalBufferAllowance.
    std::unique_ptr<ReceiveWindowTuner> m_tuner;
    State m_state = State::Opening;
    bool m_sendsEarly = false;
    quint32 m_earlyReceiveLimit = 0;
    QByteArray m_earlyData; // received before the target was connected
    // What only a datagram channel keeps, so that a stream channel does not pay for it.
    struct DatagramState
    {
        QList<QByteArray> early; // received before the target was connected, boundaries kept
        QList<QByteArray> held;  // read before open-ok beyond the early window
        qint64 heldBytes = 0;
        quint64 in = 0;
        quint64 out = 0;
        quint64 droppedIn = 0;
        quint64 droppedOut = 0;
    };
    std::unique_ptr<DatagramState> m_datagram; // set for datagram channels only
    bool m_localEof = false;
    bool m_remoteFin = false;
    quint64 m_bytesIn = 0;
    quint64 m_bytesOut = 0;
    QElapsedTimer m_age;
    QString m_error;
};

} // namespace wstunnel

Q_DECLARE_METATYPE(wstunnel::ChannelSummary)

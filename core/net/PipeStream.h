#pragma once

#include "channel/ChannelEndpoint.h"

#include <QByteArray>
#include <QList>

class QSocketNotifier;

namespace wstunnel {

// A channel endpoint on two descriptors of any kind (pipes, a terminal, a file, a socket): what
// `wstunnel --stdio` carries, reading standard input and writing standard output. Like
// StreamSocket it reads only when asked and queues only what the descriptor does not take.
//
// When a direction ends, its descriptor is pointed at /dev/null rather than closed, so that the
// reader sees the end while the number stays taken: a stray write to standard output can never
// reach a descriptor opened later.
class PipeStream final : public ChannelEndpoint
{
    Q_OBJECT

public:
    // Makes both descriptors non-blocking; restores their flags when destroyed.
    PipeStream(int readFd, int writeFd, QObject *parent = nullptr);
    ~PipeStream() override;

    void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                            int timeoutMs) override;
    qint64 read(char *buffer, qint64 maxSize) override;
    qint64 write(QByteArrayView data) override;
    qint64 bytesToWrite() const override { return m_queuedBytes; }
    void setReadEnabled(bool enabled) override;
    void shutdownWrite() override;
    void abort() override;
    void close() override;
    QString peerAddress() const override { return QStringLiteral("stdio"); }
    QString errorString() const override { return m_errorString; }

private:
    void flushQueue();
    void endRead();
    void endWrite();

    int m_readFd;
    int m_writeFd;
    int m_readFlags;
    int m_writeFlags;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    bool m_readEnded = false;
    bool m_writeEnded = false;
    bool m_shutdownPending = false;
    QList<QByteArray> m_queue;
    qsizetype m_queueHeadOffset = 0;
    qint64 m_queuedBytes = 0;
    QString m_errorString;
};

} // namespace wstunnel

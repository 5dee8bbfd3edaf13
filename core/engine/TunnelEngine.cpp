#include "TunnelEngine.h"

#include "EngineWorker.h"

#include <QThread>

namespace wstunnel {

TunnelEngine::TunnelEngine(QObject *parent, int snapshotIntervalMs)
    : QObject(parent)
    , m_thread(new QThread(this))
    , m_worker(new EngineWorker(snapshotIntervalMs))
{
    qRegisterMetaType<EngineSnapshot>();
    qRegisterMetaType<QList<EngineEvent>>();
    m_thread->setObjectName(QStringLiteral("wstunnel engine"));
    m_worker->moveToThread(m_thread);
    connect(m_worker, &EngineWorker::snapshotReady, this, [this](const EngineSnapshot &snapshot) {
        m_snapshot = snapshot;
        Q_EMIT snapshotUpdated(m_snapshot);
    });
    connect(m_worker, &EngineWorker::eventsReady, this, &TunnelEngine::eventsRecorded);
    m_thread->start();
    QMetaObject::invokeMethod(m_worker, &EngineWorker::start, Qt::QueuedConnection);
}

TunnelEngine::~TunnelEngine()
{
    // The worker's sockets and timers belong to its thread and must end there; the emptied
    // worker then comes back to this thread to be deleted.
    QThread *home = QThread::currentThread();
    QMetaObject::invokeMethod(
        m_worker,
        [worker = m_worker, home] {
            worker->shutdown();
            worker->moveToThread(home);
        },
        Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    delete m_worker;
}

void TunnelEngine::apply(const Profile &profile, const QHash<QString, QByteArray> &tokens)
{
    QMetaObject::invokeMethod(
        m_worker,
        [worker = m_worker, profile, tokens] {
            worker->apply(profile.remotes, tokens, profile.mappings);
        },
        Qt::QueuedConnection);
}

void TunnelEngine::closeChannel(const QString &mappingId, quint32 channelId)
{
    QMetaObject::invokeMethod(
        m_worker,
        [worker = m_worker, mappingId, channelId] { worker->closeChannel(mappingId, channelId); },
        Qt::QueuedConnection);
}

} // namespace wstunnel

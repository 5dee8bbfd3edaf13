#pragma once

#include <QObject>

class QSocketNotifier;

namespace wstunnel {

// Turns SIGINT, SIGTERM and SIGHUP into a Qt signal through a self-pipe, so that shutdown and
// reload run in the event loop rather than in a signal handler.
class UnixSignalWatcher : public QObject
{
    Q_OBJECT

public:
    explicit UnixSignalWatcher(QObject *parent = nullptr);
    ~UnixSignalWatcher() override;

Q_SIGNALS:
    void terminationRequested(int signalNumber);
    void reloadRequested();

private:
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace wstunnel

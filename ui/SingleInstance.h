#pragma once

#include <QObject>

class QLocalServer;

namespace wstunnel {

// One running app per user and configuration: the first launch listens on a local socket, a
// later one only tells it to show its window and exits.
class SingleInstance : public QObject
{
    Q_OBJECT

public:
    explicit SingleInstance(QObject *parent = nullptr);

    // The socket name, derived from the configuration folder so that test runs with their own
    // XDG_CONFIG_HOME never meet the user's app.
    static QString serverName();
    // True when this process is the first; false after asking the running one to show itself.
    bool claim();

Q_SIGNALS:
    void activationRequested();

private:
    QLocalServer *m_server = nullptr;
};

} // namespace wstunnel

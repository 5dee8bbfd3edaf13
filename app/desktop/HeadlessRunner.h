#pragma once

#include "HeadlessOptions.h"

#include <QObject>

namespace wstunnel {

class TunnelClient;

// `wstunnel --headless`: binds the forwards, prints a readiness line for each, keeps the session
// alive, and ends the process on a final error or a termination signal.
class HeadlessRunner : public QObject
{
    Q_OBJECT

public:
    explicit HeadlessRunner(const HeadlessOptions &options, QObject *parent = nullptr);

    // Returns false with error set when a forward cannot be bound.
    bool start(QString *error);

Q_SIGNALS:
    void finished(int exitCode);

private:
    HeadlessOptions m_options;
    TunnelClient *m_client;
};

} // namespace wstunnel

#pragma once

#include "HeadlessOptions.h"

#include <QObject>

namespace wstunnel {

class StdioForward;
class TunnelClient;
class TunnelSession;

// `wstunnel --headless`: binds the forwards, prints a readiness line for each, keeps the session
// alive, and ends the process on a final error or a termination signal.
class HeadlessRunner : public QObject
{
    Q_OBJECT

public:
    explicit HeadlessRunner(const HeadlessOptions &options, QObject *parent = nullptr);

    // Returns false with error set when a forward cannot be bound.
    bool start(QString *error);

    // Why the run ended with a non-zero exit code, for the last line on stderr.
    QString failureReason() const { return m_failureReason; }

Q_SIGNALS:
    void finished(int exitCode);

private:
    // With --agent: the hub's word on who serves the agent.
    void followAgent(TunnelSession *session);
    // --stdio: standard input and output are the connection.
    void startStdio();
    // Ends the run with exit code 1; the first reason given is the one reported.
    void finish(const QString &reason);

    HeadlessOptions m_options;
    TunnelClient *m_client;
    StdioForward *m_stdio = nullptr;
    QString m_agentAddress; // the instance serving --agent, as last printed
    QString m_failureReason;
};

} // namespace wstunnel

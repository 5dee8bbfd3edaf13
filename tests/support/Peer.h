#pragma once

#include <QByteArray>
#include <QProcess>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

// Helpers of the end-to-end tests, which start the real binaries from WSTUNNEL_BIN_DIR.
inline constexpr int kStartTimeoutMs = 15000;
inline constexpr int kExitTimeoutMs = 15000;
inline const QByteArray kToken = "e2e-token-6f1d2c";

// The path of a binary under test.
QString binary(const QString &name);

// One started binary: collects what it prints and waits, with the event loop running, for lines
// and for its exit. The destructor never leaves a process behind.
class Peer
{
public:
    explicit Peer(const QString &name);
    ~Peer();
    Peer(const Peer &) = delete;
    Peer &operator=(const Peer &) = delete;

    // Set for the next start().
    void setEnvironment(const QString &name, const QString &value)
    {
        m_extraEnvironment.insert(name, value);
    }

    // Set for the next start(): the open-file limit, soft and hard, that the binary starts with
    // (as `ulimit -n` in a shell would set it); 0 keeps this process's limit.
    void setDescriptorLimit(int limit) { m_descriptorLimit = limit; }

    // The token comes from WSTUNNEL_TOKEN unless `token` is empty; proxy settings of the
    // environment this test runs in must not send loopback traffic elsewhere. No display, as on
    // the servers these command lines are for.
    void start(const QStringList &arguments, const QByteArray &token = kToken);

    // Waits until a complete line of stdout matches `pattern`; returns the match (invalid on
    // timeout or exit). Lines before `skipLines` are ignored, for lines printed a second time.
    QRegularExpressionMatch waitForLine(const QRegularExpression &pattern,
                                        int timeoutMs = kStartTimeoutMs, int skipLines = 0);
    bool waitForStderr(const QString &text, int timeoutMs = kStartTimeoutMs);
    // Waits for the process to end; returns its exit code, or -1 if it is still running or
    // crashed.
    int waitForExit(int timeoutMs = kExitTimeoutMs);

    void terminate() { m_process.terminate(); }
    void signal(int number);
    void kill() { m_process.kill(); }
    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }
    qint64 processId() const { return m_process.processId(); }
    int lineCount() const { return int(completeLines(m_out).size()); }
    QString stdoutText() const { return QString::fromUtf8(m_out); }
    QString stderrText() const { return QString::fromUtf8(m_err); }
    // For failure messages: what the process said.
    QByteArray transcript() const;

private:
    static QList<QByteArray> completeLines(const QByteArray &text);

    QString m_name;
    QProcess m_process;
    QProcessEnvironment m_extraEnvironment;
    int m_descriptorLimit = 0;
    QByteArray m_out;
    QByteArray m_err;
};

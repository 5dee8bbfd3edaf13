#include "Peer.h"

#include <QDir>
#include <QTest>

#include <csignal>
#include <sys/resource.h>
#include <sys/types.h>

QString binary(const QString &name)
{
    const QByteArray dir = qgetenv("WSTUNNEL_BIN_DIR");
    return QDir(QString::fromLocal8Bit(dir)).filePath(name);
}

Peer::Peer(const QString &name)
    : m_name(name)
{
    QObject::connect(&m_process, &QProcess::readyReadStandardOutput, &m_process,
                     [this] { m_out += m_process.readAllStandardOutput(); });
    QObject::connect(&m_process, &QProcess::readyReadStandardError, &m_process,
                     [this] { m_err += m_process.readAllStandardError(); });
}

Peer::~Peer()
{
    if (m_process.state() != QProcess::NotRunning) {
        m_process.kill();
        m_process.waitForFinished(5000);
    }
}

void Peer::start(const QStringList &arguments, const QByteArray &token)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char *variable :
         {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
          "WSTUNNEL_TOKEN", "DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
        environment.remove(QString::fromLatin1(variable));
    environment.insert(QStringLiteral("no_proxy"), QStringLiteral("*"));
    if (!token.isEmpty())
        environment.insert(QStringLiteral("WSTUNNEL_TOKEN"), QString::fromLatin1(token));
    environment.insert(m_extraEnvironment);
    m_process.setProcessEnvironment(environment);
    m_out.clear();
    m_err.clear();
    const rlim_t limit = rlim_t(m_descriptorLimit);
    m_process.setChildProcessModifier([limit] {
        if (limit > 0) {
            const rlimit both{limit, limit};
            ::setrlimit(RLIMIT_NOFILE, &both);
        }
    });
    m_process.start(binary(m_name), arguments);
}

QRegularExpressionMatch Peer::waitForLine(const QRegularExpression &pattern, int timeoutMs,
                                          int skipLines)
{
    QRegularExpressionMatch found;
    (void)QTest::qWaitFor(
        [&] {
            const QList<QByteArray> lines = completeLines(m_out);
            for (int i = skipLines; i < lines.size(); ++i) {
                found = pattern.match(QString::fromUtf8(lines.at(i)));
                if (found.hasMatch())
                    return true;
            }
            return m_process.state() == QProcess::NotRunning;
        },
        timeoutMs);
    return found.hasMatch() ? found : QRegularExpressionMatch();
}

bool Peer::waitForStderr(const QString &text, int timeoutMs)
{
    return QTest::qWaitFor([&] { return stderrText().contains(text); }, timeoutMs);
}

int Peer::waitForExit(int timeoutMs)
{
    if (m_process.state() != QProcess::NotRunning) {
        (void)QTest::qWaitFor([&] { return m_process.state() == QProcess::NotRunning; }, timeoutMs);
    }
    if (m_process.state() != QProcess::NotRunning || m_process.exitStatus() != QProcess::NormalExit)
        return -1;
    // Collect whatever was still in the pipes.
    m_out += m_process.readAllStandardOutput();
    m_err += m_process.readAllStandardError();
    return m_process.exitCode();
}

void Peer::signal(int number)
{
    if (m_process.processId() > 0)
        ::kill(pid_t(m_process.processId()), number);
}

QByteArray Peer::transcript() const
{
    return (m_name + QStringLiteral(" stdout:\n") + stdoutText() + QStringLiteral("\nstderr:\n") +
            stderrText())
        .toLocal8Bit();
}

QList<QByteArray> Peer::completeLines(const QByteArray &text)
{
    QList<QByteArray> lines = text.split('\n');
    lines.removeLast(); // an unfinished line, or the empty piece after the last '\n'
    return lines;
}

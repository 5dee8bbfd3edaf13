#pragma once

#include <QByteArray>
#include <QPair>
#include <QString>

#include <optional>

namespace wstunnel {

// Values of the network options both binaries share (--keepalive, --header, --udp-timeout,
// --resume-timeout, the receive-window options), parsed the same way from the command line and
// from config files.
class NetworkOptionValues
{
public:
    // SECONDS (decimals allowed, 0.2 to 3600) as milliseconds.
    static std::optional<int> parseKeepAlive(const QString &text, QString *error);
    // SECONDS a UDP flow may stay idle (decimals allowed, 0.1 to 86400) as milliseconds.
    static std::optional<int> parseUdpTimeout(const QString &text, QString *error);
    // SECONDS a session whose WebSocket was lost waits for it to come back (0 to 86400; 0 turns
    // resuming off) as milliseconds.
    static std::optional<int> parseResumeTimeout(const QString &text, QString *error);
    // MiB (decimals allowed, 0 to 2048) as bytes, for --max-window, --window-budget and
    // --process-window-budget; option names the option in the error.
    static std::optional<qint64> parseWindowSize(const QString &option, const QString &text,
                                                 QString *error);
    // 'Name: value'; names the WebSocket upgrade sets itself are refused.
    static std::optional<QPair<QByteArray, QByteArray>> parseHeader(const QString &text,
                                                                    QString *error);
};

} // namespace wstunnel

#pragma once

#include "client/ClientSettings.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <optional>

class QCommandLineParser;

namespace wstunnel {

// The command line of an end that dials its server, shared by `wstunnel --headless` and
// `wstunnel-remote agent`: how to trust the server and present a client certificate, the proxy,
// extra headers and keepalive, and the token file.
class ClientCommandLine
{
public:
    // --ca-file, --pin-sha256, --trust-fingerprint, --client-cert, --client-key, --proxy, --header,
    // --keepalive.
    static void addNetworkOptions(QCommandLineParser &parser);
    // Applies them to client, whose url must be set already (TLS options need wss).
    static bool applyNetworkOptions(const QCommandLineParser &parser, ClientSettings *client,
                                    QString *error);
    // --max-window, --window-budget, --process-window-budget: receive-window autotuning, on
    // every binary (a remote's parser adds them too).
    static void addWindowOptions(QCommandLineParser &parser);
    // Applies those that are set to limits.
    static bool applyWindowOptions(const QCommandLineParser &parser, SessionLimits *limits,
                                   QString *error);
    // The first token of a token file: its first line that is neither blank nor a comment.
    static std::optional<QByteArray> readToken(const QString &path, QString *error);
};

} // namespace wstunnel

#pragma once

#include <QByteArray>
#include <QHash>
#include <QString>

#include <optional>

namespace wstunnel {

// The head of the HTTP request that opens a WebSocket, parsed before the upgrade so that a
// server can answer 401/404 without ever creating a session.
struct UpgradeRequest
{
    static constexpr qsizetype kMaxHeadSize = 16 * 1024;

    QByteArray method;
    QByteArray path;                       // without the query
    QHash<QByteArray, QByteArray> headers; // names lower-cased

    // Index just past the blank line ending the head in buffer, or -1 while incomplete.
    static qsizetype headEnd(const QByteArray &buffer);
    static std::optional<UpgradeRequest> parse(const QByteArray &head, QString *error);

    QByteArray header(const QByteArray &lowerName) const { return headers.value(lowerName); }
    bool isWebSocketUpgrade() const;
};

} // namespace wstunnel

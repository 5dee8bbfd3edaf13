#include "UpgradeRequest.h"

#include <QList>

namespace wstunnel {

qsizetype UpgradeRequest::headEnd(const QByteArray &buffer)
{
    const qsizetype end = buffer.indexOf("\r\n\r\n");
    return end < 0 ? -1 : end + 4;
}

std::optional<UpgradeRequest> UpgradeRequest::parse(const QByteArray &head, QString *error)
{
    const QList<QByteArray> lines = head.split('\n');
    const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
    if (requestLine.size() != 3 || !requestLine.at(2).startsWith("HTTP/1.")) {
        *error = QStringLiteral("not an HTTP/1.x request");
        return std::nullopt;
    }
    UpgradeRequest request;
    request.method = requestLine.at(0);
    request.path = requestLine.at(1);
    const qsizetype query = request.path.indexOf('?');
    if (query >= 0)
        request.path.truncate(query);
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        if (line.isEmpty())
            continue;
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0) {
            *error = QStringLiteral("malformed header line");
            return std::nullopt;
        }
        const QByteArray name = line.left(colon).trimmed().toLower();
        const QByteArray value = line.mid(colon + 1).trimmed();
        if (request.headers.contains(name))
            request.headers[name] += ", " + value;
        else
            request.headers.insert(name, value);
    }
    return request;
}

bool UpgradeRequest::isWebSocketUpgrade() const
{
    return method == "GET" && header("upgrade").toLower().contains("websocket");
}

} // namespace wstunnel

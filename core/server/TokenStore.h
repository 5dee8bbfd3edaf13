#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

namespace wstunnel {

// The bearer tokens a server accepts. Only their SHA-256 digests are kept, and a presented token
// is compared against every one of them in constant time.
class TokenStore
{
public:
    void add(const QByteArray &token);
    // One token per line; blank lines and lines starting with '#' are ignored.
    bool loadFile(const QString &path, QString *error);
    bool isEmpty() const { return m_digests.isEmpty(); }
    int size() const { return int(m_digests.size()); }
    bool accepts(const QByteArray &presented) const;

    // The token of an "Authorization: Bearer TOKEN" header value, or an empty array.
    static QByteArray bearerToken(const QByteArray &authorizationHeader);

private:
    QList<QByteArray> m_digests;
};

} // namespace wstunnel

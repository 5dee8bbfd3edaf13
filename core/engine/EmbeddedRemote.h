#pragma once

#include <QByteArray>
#include <QObject>
#include <QUrl>

namespace wstunnel {

class TunnelServer;

// "This computer": the remote engine of wstunnel-remote running inside the app, on loopback,
// with a random token that never leaves the process. It lets a new user try mappings without
// any server; it may reach any target, as the user could from this machine anyway.
class EmbeddedRemote : public QObject
{
    Q_OBJECT

public:
    explicit EmbeddedRemote(QObject *parent = nullptr);
    ~EmbeddedRemote() override;

    bool start(QString *error);
    QUrl url() const { return m_url; }
    QByteArray token() const { return m_token; }

private:
    TunnelServer *m_server = nullptr;
    QUrl m_url;
    QByteArray m_token;
};

} // namespace wstunnel

#include "TunnelError.h"

namespace wstunnel {

namespace {

QString notWssHint()
{
    return QStringLiteral("(does it serve wss? For a plain server use a ws:// URL)");
}

QString fileRole(TunnelError::TlsFile file)
{
    switch (file) {
    case TunnelError::TlsFile::CaFile:
        return QStringLiteral("CA file");
    case TunnelError::TlsFile::ClientCertificate:
        return QStringLiteral("client certificate");
    case TunnelError::TlsFile::ClientKey:
        return QStringLiteral("client key");
    case TunnelError::TlsFile::None:
        break;
    }
    return QStringLiteral("file");
}

} // namespace

TunnelError::TunnelError(Kind kind, const QString &subject, const QString &detail)
    : kind(kind)
    , subject(subject)
    , detail(detail)
{
}

QString TunnelError::toString() const
{
    switch (kind) {
    case Kind::None:
        return QString();
    case Kind::TokenRefused:
        return QStringLiteral("%1 refused the token (HTTP 401)").arg(subject);
    case Kind::UpgradeForbidden:
        return QStringLiteral("%1 refused the upgrade (HTTP 403 Forbidden): a gateway in front of "
                              "the remote may require a header, or the token is not allowed there")
            .arg(subject);
    case Kind::NoTunnelAtPath:
        return QStringLiteral("%1 has no tunnel at this path (HTTP 404)").arg(subject);
    case Kind::HttpStatus:
        return remoteReason.isEmpty()
                   ? QStringLiteral("HTTP %1 from %2").arg(httpStatus).arg(subject)
                   : QStringLiteral("HTTP %1 from %2: %3")
                         .arg(httpStatus)
                         .arg(subject, remoteReason);
    case Kind::CertificateNotTrusted:
        return QStringLiteral("TLS: the certificate of %1 is not trusted: %2 (server certificate "
                              "SHA-256 fingerprint %3)")
            .arg(subject, detail, certificateSha256);
    case Kind::PublicKeyPinMismatch:
        return QStringLiteral("TLS: the public key of %1 does not match the pinned key sha256/%2 "
                              "(its key is sha256/%3, server certificate SHA-256 fingerprint %4); "
                              "not connecting")
            .arg(subject, QString::fromLatin1(expectedPin), QString::fromLatin1(publicKeyPin),
                 certificateSha256);
    case Kind::PinNotCheckable:
        return QStringLiteral(
            "TLS: cannot check the public key pin with this Qt version; not connecting");
    case Kind::ClientCertificateRequired:
        return QStringLiteral("TLS: %1 requires a client certificate (server said: %2)")
            .arg(subject, detail);
    case Kind::ClientCertificateRefused:
        return QStringLiteral("TLS: %1 refused the client certificate %2 (server said: %3)")
            .arg(subject, file, detail);
    case Kind::TlsAlert:
        return QStringLiteral("TLS: %1 ended the handshake: %2").arg(subject, detail);
    case Kind::TlsHandshakeFailed:
        return QStringLiteral("TLS handshake with %1 failed: %2 %3")
            .arg(subject, detail, notWssHint());
    case Kind::ClosedDuringTlsHandshake:
        return QStringLiteral("%1 closed the connection during the TLS handshake %2")
            .arg(subject, notWssHint());
    case Kind::TlsSetupFailed:
        return QStringLiteral("TLS: cannot set up the connection: %1").arg(detail);
    case Kind::TlsFileUnreadable:
        return QStringLiteral("cannot read the %1 %2: %3").arg(fileRole(tlsFile), subject, detail);
    case Kind::TlsFileInvalid:
        return tlsFile == TlsFile::ClientKey
                   ? QStringLiteral("the client key %1 holds no unencrypted PEM private key (RSA, "
                                    "EC or DSA)")
                         .arg(subject)
                   : QStringLiteral("the %1 %2 holds no PEM certificate")
                         .arg(fileRole(tlsFile), subject);
    case Kind::ClientCertificateIncomplete:
        return QStringLiteral("a client certificate needs both the certificate and its key");
    case Kind::ProxyAuthenticationRequired:
        return QStringLiteral("proxy authentication failed: proxy %1 requires a user name and "
                              "password (HTTP 407)")
            .arg(proxy);
    case Kind::ProxyCredentialsRejected:
        return QStringLiteral("proxy authentication failed: proxy %1 rejected the credentials of "
                              "user '%2' (HTTP 407)")
            .arg(proxy, proxyUser);
    case Kind::ProxyRefusedConnect:
        return QStringLiteral("proxy %1 refused to connect to %2 (HTTP 403): the proxy does not "
                              "allow CONNECT to this host or port")
            .arg(proxy, subject);
    case Kind::ProxyCannotReachRemote:
        return QStringLiteral("proxy %1 could not reach %2: %3").arg(proxy, subject, detail);
    case Kind::ProxyUnreachable:
    case Kind::ProxyProblem:
        return QStringLiteral("proxy problem: %1: %2").arg(proxy, detail);
    case Kind::ConnectionRefused:
    case Kind::HostNotFound:
    case Kind::ConnectionFailed:
    case Kind::ConnectionLost:
        return detail;
    case Kind::TimedOut:
        return QStringLiteral("no answer from %1 within %2 s")
            .arg(subject, QString::number(timeoutSeconds));
    case Kind::LocalPortInUse:
    case Kind::CannotListen:
        return QStringLiteral("cannot listen on %1: %2").arg(subject, detail);
    case Kind::InvalidBindAddress:
        return QStringLiteral("forward %1: bind address '%2' is not an IP address")
            .arg(forward, subject);
    case Kind::ReverseForwardRefused:
        return QStringLiteral("the remote refused: %1").arg(detail);
    case Kind::BuiltInRemoteFailed:
        return QStringLiteral("the built-in remote did not start: %1").arg(detail);
    case Kind::RemoteMissing:
        return QStringLiteral("its remote no longer exists");
    case Kind::NotAHub:
        return QStringLiteral("%1 is not a hub (it does not relay to agents)").arg(subject);
    case Kind::AgentListRefused:
        return QStringLiteral("%1 refused to list its agents (HTTP 403): a hub older than this "
                              "version, or a token that is not a desktop's")
            .arg(subject);
    }
    return detail;
}

} // namespace wstunnel

#include "ErrorMessages.h"

#include <QStringList>

namespace wstunnel {

QString ErrorMessages::describe(const TunnelError &error)
{
    const QString &subject = error.subject;
    const QString &detail = error.detail;
    switch (error.kind) {
    case TunnelError::Kind::None:
        return QString();
    case TunnelError::Kind::TokenRefused:
        return tr("%1 refused the token (HTTP 401): edit the remote and check its token")
            .arg(subject);
    case TunnelError::Kind::UpgradeForbidden:
        return tr("%1 refused the connection (HTTP 403 Forbidden): a gateway in front of the "
                  "remote may require a header, or the token is not allowed there; edit the "
                  "remote to add the header under Extra headers")
            .arg(subject);
    case TunnelError::Kind::NoTunnelAtPath:
        return tr("%1 has no tunnel at this path (HTTP 404): edit the remote and check the path "
                  "of its URL")
            .arg(subject);
    case TunnelError::Kind::HttpStatus:
        // The remote's reason is its own English words, as in its log.
        return tr("%1 answered with HTTP %2 instead of opening the tunnel")
                   .arg(subject)
                   .arg(error.httpStatus) +
               (error.remoteReason.isEmpty() ? QString()
                                             : QStringLiteral(": ") + error.remoteReason);
    case TunnelError::Kind::CertificateNotTrusted:
        return tr("the certificate of %1 is not trusted: %2 (SHA-256 fingerprint %3); %4")
            .arg(subject, detail, error.certificateSha256,
                 certificateAdvice(error.certificateProblems));
    case TunnelError::Kind::PublicKeyPinMismatch:
        return tr("the public key of %1 does not match the remote's public key pin (its key is "
                  "sha256/%2, certificate SHA-256 fingerprint %3): not connecting; if the server "
                  "has a new key, edit the remote's pin")
            .arg(subject, QString::fromLatin1(error.publicKeyPin), error.certificateSha256);
    case TunnelError::Kind::PinNotCheckable:
        return tr("this Qt version cannot check the remote's public key pin: not connecting; "
                  "edit the remote and clear the pin");
    case TunnelError::Kind::ClientCertificateRequired:
        return tr("%1 requires a client certificate (server said: %2): edit the remote and "
                  "choose a client certificate and key")
            .arg(subject, detail);
    case TunnelError::Kind::ClientCertificateRefused:
        return tr("%1 refused the client certificate %2 (server said: %3): it wants one issued "
                  "by the CA it trusts for clients")
            .arg(subject, error.file, detail);
    case TunnelError::Kind::TlsAlert:
        return tr("%1 ended the TLS handshake: %2").arg(subject, detail);
    case TunnelError::Kind::TlsHandshakeFailed:
        return tr("the TLS handshake with %1 failed: %2; does it serve wss? For a plain server, "
                  "use a ws:// URL")
            .arg(subject, detail);
    case TunnelError::Kind::ClosedDuringTlsHandshake:
        return tr("%1 closed the connection during the TLS handshake; does it serve wss? For a "
                  "plain server, use a ws:// URL")
            .arg(subject);
    case TunnelError::Kind::TlsSetupFailed:
        return error.file.isEmpty()
                   ? tr("TLS cannot be set up: %1").arg(detail)
                   : tr("TLS cannot be set up: %1; check that the remote's client key belongs to "
                        "its client certificate")
                         .arg(detail);
    case TunnelError::Kind::TlsFileUnreadable:
        return unreadableFile(error);
    case TunnelError::Kind::TlsFileInvalid:
        return invalidFile(error);
    case TunnelError::Kind::ClientCertificateIncomplete:
        return tr("a client certificate needs both the certificate and its key: edit the remote "
                  "and choose both");
    case TunnelError::Kind::ProxyAuthenticationRequired:
        return tr("the proxy %1 requires a user name and password (HTTP 407): edit the remote "
                  "and give them in its proxy as http://USER:PASSWORD@HOST:PORT")
            .arg(error.proxy);
    case TunnelError::Kind::ProxyCredentialsRejected:
        return tr("the proxy %1 rejected the credentials of the user \"%2\" (HTTP 407): edit the "
                  "remote and check the user and password of its proxy")
            .arg(error.proxy, error.proxyUser);
    case TunnelError::Kind::ProxyRefusedConnect:
        return tr("the proxy %1 refused to connect to %2 (HTTP 403): it does not allow "
                  "connections to this host or port")
            .arg(error.proxy, subject);
    case TunnelError::Kind::ProxyCannotReachRemote:
        return tr("the proxy %1 could not reach %2: %3").arg(error.proxy, subject, detail);
    case TunnelError::Kind::ProxyUnreachable:
        return tr("cannot reach the proxy %1: %2; check the remote's proxy settings")
            .arg(error.proxy, detail);
    case TunnelError::Kind::ProxyProblem:
        return tr("problem with the proxy %1: %2").arg(error.proxy, detail);
    case TunnelError::Kind::ConnectionRefused:
        return tr("%1 refused the connection: is the remote running?").arg(subject);
    case TunnelError::Kind::HostNotFound:
        return tr("cannot find the host of %1: %2").arg(subject, detail);
    case TunnelError::Kind::ConnectionFailed:
        return tr("cannot connect to %1: %2").arg(subject, detail);
    case TunnelError::Kind::TimedOut:
        return tr("no answer from %1 within %n s", nullptr, error.timeoutSeconds).arg(subject);
    case TunnelError::Kind::ConnectionLost:
        return tr("the connection to %1 was lost: %2").arg(subject, detail);
    case TunnelError::Kind::LocalPortInUse:
        return tr("cannot listen on %1: another program uses this port; edit the mapping and "
                  "choose another one")
            .arg(subject);
    case TunnelError::Kind::CannotListen:
        return tr("cannot listen on %1: %2").arg(subject, detail);
    case TunnelError::Kind::InvalidBindAddress:
        return tr("the listen address %1 is not an IP address").arg(subject);
    case TunnelError::Kind::ReverseForwardRefused:
        return tr("the remote refused: %1").arg(detail);
    case TunnelError::Kind::BuiltInRemoteFailed:
        return tr("the built-in remote did not start: %1").arg(detail);
    case TunnelError::Kind::RemoteMissing:
        return tr("its remote no longer exists");
    case TunnelError::Kind::NotAHub:
        return tr("%1 is not a hub (it does not relay to agents)").arg(error.subject);
    case TunnelError::Kind::AgentListRefused:
        return tr("%1 refused to list its agents (HTTP 403): the hub may be older than this "
                  "version, or the token is not a desktop's; type the agent's name instead")
            .arg(error.subject);
    }
    return error.toString();
}

QString ErrorMessages::certificateAdvice(TunnelError::CertificateProblems problems)
{
    QStringList advice;
    if (problems & TunnelError::CertificateProblem::Expired)
        advice.append(
            tr("the server's certificate must be renewed, or this computer's clock is wrong"));
    if (problems & TunnelError::CertificateProblem::NotYetValid)
        advice.append(tr("check this computer's clock"));
    if (problems & TunnelError::CertificateProblem::HostNameMismatch)
        advice.append(tr("use a host name the certificate lists in the remote's URL"));
    if (problems & TunnelError::CertificateProblem::UntrustedIssuer)
        advice.append(tr("choose the CA that issued it as the remote's CA file"));
    advice.append(tr("or check the fingerprint and choose \"Trust This Certificate…\""));
    return advice.join(QStringLiteral("; "));
}

QString ErrorMessages::unreadableFile(const TunnelError &error)
{
    switch (error.tlsFile) {
    case TunnelError::TlsFile::CaFile:
        return tr("cannot read the CA file %1: %2").arg(error.subject, error.detail);
    case TunnelError::TlsFile::ClientCertificate:
        return tr("cannot read the client certificate %1: %2").arg(error.subject, error.detail);
    case TunnelError::TlsFile::ClientKey:
        return tr("cannot read the client key %1: %2").arg(error.subject, error.detail);
    case TunnelError::TlsFile::None:
        break;
    }
    return error.toString();
}

QString ErrorMessages::invalidFile(const TunnelError &error)
{
    switch (error.tlsFile) {
    case TunnelError::TlsFile::CaFile:
        return tr("the CA file %1 holds no PEM certificate").arg(error.subject);
    case TunnelError::TlsFile::ClientCertificate:
        return tr("the client certificate %1 holds no PEM certificate").arg(error.subject);
    case TunnelError::TlsFile::ClientKey:
        return tr("the client key %1 holds no unencrypted PEM private key (RSA, EC or DSA)")
            .arg(error.subject);
    case TunnelError::TlsFile::None:
        break;
    }
    return error.toString();
}

} // namespace wstunnel

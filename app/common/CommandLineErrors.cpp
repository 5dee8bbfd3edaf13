#include "CommandLineErrors.h"

#include <QStringList>

namespace wstunnel {

namespace {

QString optionOf(TunnelError::TlsFile file)
{
    switch (file) {
    case TunnelError::TlsFile::CaFile:
        return QStringLiteral("--ca-file");
    case TunnelError::TlsFile::ClientCertificate:
        return QStringLiteral("--client-cert");
    case TunnelError::TlsFile::ClientKey:
        return QStringLiteral("--client-key");
    case TunnelError::TlsFile::None:
        break;
    }
    return QString();
}

QString certificateAdvice(TunnelError::CertificateProblems problems)
{
    QStringList advice;
    if (problems & TunnelError::CertificateProblem::Expired)
        advice.append(QStringLiteral(
            "the server's certificate must be renewed, or this computer's clock is wrong"));
    if (problems & TunnelError::CertificateProblem::NotYetValid)
        advice.append(QStringLiteral("check this computer's clock"));
    if (problems & TunnelError::CertificateProblem::HostNameMismatch)
        advice.append(QStringLiteral("use a host name the certificate lists in the URL"));
    if (problems & TunnelError::CertificateProblem::UntrustedIssuer)
        advice.append(QStringLiteral("give the CA that issued it with --ca-file"));
    advice.append(QStringLiteral("or, once you have checked the fingerprint, trust this "
                                 "certificate with --trust-fingerprint"));
    return advice.join(QStringLiteral(", "));
}

} // namespace

QString CommandLineErrors::describe(const TunnelError &error)
{
    switch (error.kind) {
    case TunnelError::Kind::TokenRefused:
        return QStringLiteral("%1: check --token-file or WSTUNNEL_TOKEN").arg(error.toString());
    case TunnelError::Kind::UpgradeForbidden:
        return QStringLiteral("%1 refused the upgrade (HTTP 403 Forbidden): a gateway in front of "
                              "the remote may require a header (--header 'Name: value'), or the "
                              "token is not allowed there")
            .arg(error.subject);
    case TunnelError::Kind::NoTunnelAtPath:
        return QStringLiteral("%1: check the URL path against the remote's --path")
            .arg(error.toString());
    case TunnelError::Kind::CertificateNotTrusted:
        return QStringLiteral("%1; %2").arg(error.toString(),
                                            certificateAdvice(error.certificateProblems));
    case TunnelError::Kind::PublicKeyPinMismatch:
        return QStringLiteral("TLS: the public key of %1 does not match --pin-sha256 %2 (its key "
                              "is sha256/%3, server certificate SHA-256 fingerprint %4); not "
                              "connecting")
            .arg(error.subject, QString::fromLatin1(error.expectedPin),
                 QString::fromLatin1(error.publicKeyPin), error.certificateSha256);
    case TunnelError::Kind::PinNotCheckable:
        return QStringLiteral(
            "TLS: cannot check --pin-sha256 with this Qt version; not connecting");
    case TunnelError::Kind::ClientCertificateRequired:
        return QStringLiteral("%1; give --client-cert and --client-key").arg(error.toString());
    case TunnelError::Kind::ClientCertificateRefused:
        return QStringLiteral("%1; it wants one issued by the CA in its --client-ca")
            .arg(error.toString());
    case TunnelError::Kind::TlsSetupFailed:
        return error.file.isEmpty() ? error.toString()
                                    : QStringLiteral("%1; check that --client-key belongs to "
                                                     "--client-cert")
                                          .arg(error.toString());
    case TunnelError::Kind::TlsFileUnreadable:
        return QStringLiteral("cannot read %1 %2: %3")
            .arg(optionOf(error.tlsFile), error.subject, error.detail);
    case TunnelError::Kind::TlsFileInvalid:
        return error.tlsFile == TunnelError::TlsFile::ClientKey
                   ? QStringLiteral("--client-key %1 holds no unencrypted PEM private key (RSA, "
                                    "EC or DSA)")
                         .arg(error.subject)
                   : QStringLiteral("%1 %2 holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
                         .arg(optionOf(error.tlsFile), error.subject);
    case TunnelError::Kind::ClientCertificateIncomplete:
        return QStringLiteral("a client certificate needs both --client-cert and --client-key");
    case TunnelError::Kind::ProxyAuthenticationRequired:
        return QStringLiteral("%1; give them as --proxy http://USER:PASS@HOST:PORT")
            .arg(error.toString());
    case TunnelError::Kind::ProxyCredentialsRejected:
        return QStringLiteral("%1; check the user and password in --proxy").arg(error.toString());
    case TunnelError::Kind::InvalidBindAddress:
        return QStringLiteral("-L %1: bind address '%2' is not an IP address")
            .arg(error.forward, error.subject);
    case TunnelError::Kind::ReverseForwardRefused:
        return QStringLiteral("-R %1 refused by the remote: %2").arg(error.forward, error.detail);
    case TunnelError::Kind::NotAHub:
        return QStringLiteral("%1; give the URL of a wstunnel-remote hub").arg(error.toString());
    case TunnelError::Kind::AgentListRefused:
        return QStringLiteral("%1; give the agent's name with --agent").arg(error.toString());
    // Nothing on the command line changes these: the neutral words are the whole story.
    case TunnelError::Kind::None:
    case TunnelError::Kind::HttpStatus:
    case TunnelError::Kind::TlsAlert:
    case TunnelError::Kind::TlsHandshakeFailed:
    case TunnelError::Kind::ClosedDuringTlsHandshake:
    case TunnelError::Kind::ProxyRefusedConnect:
    case TunnelError::Kind::ProxyCannotReachRemote:
    case TunnelError::Kind::ProxyUnreachable:
    case TunnelError::Kind::ProxyProblem:
    case TunnelError::Kind::ConnectionRefused:
    case TunnelError::Kind::HostNotFound:
    case TunnelError::Kind::ConnectionFailed:
    case TunnelError::Kind::TimedOut:
    case TunnelError::Kind::ConnectionLost:
    case TunnelError::Kind::LocalPortInUse:
    case TunnelError::Kind::CannotListen:
    case TunnelError::Kind::BuiltInRemoteFailed:
    case TunnelError::Kind::RemoteMissing:
        break;
    }
    return error.toString();
}

} // namespace wstunnel

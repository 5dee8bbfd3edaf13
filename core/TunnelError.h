#pragma once

#include <QByteArray>
#include <QFlags>
#include <QMetaType>
#include <QObject>
#include <QString>

namespace wstunnel {

// What went wrong, as core found it, without words for any audience: what kind of failure, what
// it concerns (subject) and the underlying text of the system, Qt, OpenSSL or the peer (detail),
// plus the few values some kinds need to be worded. toString() is neutral English for log lines;
// app/ words errors for the command line and ui/ translates them for the desktop.
struct TunnelError
{
    Q_GADGET

public:
    enum class Kind {
        None,
        // The remote, or a gateway in front of it, refused the upgrade. Subject: the remote's URL.
        TokenRefused,     // HTTP 401
        UpgradeForbidden, // HTTP 403
        NoTunnelAtPath,   // HTTP 404
        HttpStatus,       // any other status instead of the upgrade: httpStatus
        // TLS with the remote. Subject: the remote's HOST:PORT.
        CertificateNotTrusted,     // detail: what verification found; certificateSha256,
                                   // certificateProblems
        PublicKeyPinMismatch,      // publicKeyPin (the server's), expectedPin, certificateSha256
        PinNotCheckable,           // this Qt cannot check a pin before the token leaves
        ClientCertificateRequired, // detail: the server's alert
        ClientCertificateRefused,  // file: the certificate offered; detail: the server's alert
        TlsAlert,                  // the server ended the handshake; detail: its alert
        TlsHandshakeFailed,        // detail: what Qt or OpenSSL said
        ClosedDuringTlsHandshake,  // the server hung up: it may not speak TLS at all
        TlsSetupFailed, // detail: what OpenSSL said; file: the client certificate, if any
        // A TLS file of the settings. Subject: its path; tlsFile: which one it is.
        TlsFileUnreadable,           // detail: the system's reason
        TlsFileInvalid,              // it holds no PEM certificate, or no PEM private key
        ClientCertificateIncomplete, // a client certificate without its key, or the other way
        // The HTTP proxy. proxy: where it is (never its credentials); subject: the remote's
        // HOST:PORT.
        ProxyAuthenticationRequired, // HTTP 407 to a request without credentials
        ProxyCredentialsRejected,    // HTTP 407 to proxyUser's credentials
        ProxyRefusedConnect,         // HTTP 403 to CONNECT
        ProxyCannotReachRemote,      // detail: why
        ProxyUnreachable,            // detail: why
        ProxyProblem,                // detail: what went wrong
        // Reaching the remote. Subject: its HOST:PORT; detail: the system's reason.
        ConnectionRefused,
        HostNotFound,
        ConnectionFailed,
        // Subject: the remote's URL.
        TimedOut,       // no session within timeoutSeconds
        ConnectionLost, // detail: why the connection or the session ended
        // A forward. Subject: the address it listens on (or was to); forward: its spec.
        LocalPortInUse,        // detail: the system's reason
        CannotListen,          // detail: the system's reason
        InvalidBindAddress,    // subject: the bind host, which is no IP address
        ReverseForwardRefused, // detail: the remote's reason
        // The desktop's engine.
        BuiltInRemoteFailed, // the remote inside the app did not start; detail: why
        RemoteMissing,       // a mapping whose remote is gone
        // An agent. Subject: the URL it was given as a hub.
        NotAHub, // the server does not relay to agents
        // Asking a hub for its agents. Subject: its URL.
        AgentListRefused, // HTTP 403: a hub older than the list, or not a desktop's token
    };
    Q_ENUM(Kind)

    enum class TlsFile { None, CaFile, ClientCertificate, ClientKey };
    Q_ENUM(TlsFile)

    // Why verification refused a certificate, as far as the advice differs.
    enum class CertificateProblem {
        Expired = 0x1,
        NotYetValid = 0x2,
        HostNameMismatch = 0x4,
        UntrustedIssuer = 0x8,
    };
    Q_DECLARE_FLAGS(CertificateProblems, CertificateProblem)

    TunnelError() = default;
    TunnelError(Kind kind, const QString &subject, const QString &detail = QString());

    bool isError() const { return kind != Kind::None; }
    // Neutral English with every detail, for log lines; no advice that names options or widgets.
    QString toString() const;

    Kind kind = Kind::None;
    // Trying again cannot help until the user changes something: the client gave up.
    bool final = false;
    QString subject;
    QString detail;

    int httpStatus = 0;
    // The remote's own reason for a refused upgrade, from its status line (e.g. its session
    // limit); empty when it gave the standard text only.
    QString remoteReason;
    QString proxy;
    QString proxyUser;
    QString file;
    TlsFile tlsFile = TlsFile::None;
    // SHA-256 of the server's certificate, upper-case hex with colons.
    QString certificateSha256;
    CertificateProblems certificateProblems;
    // Base64 SHA-256 of a SubjectPublicKeyInfo: the server's, and the one expected.
    QByteArray publicKeyPin;
    QByteArray expectedPin;
    int timeoutSeconds = 0;
    // The forward as [BIND:]PORT:HOST:HOSTPORT.
    QString forward;
};

Q_DECLARE_OPERATORS_FOR_FLAGS(TunnelError::CertificateProblems)

} // namespace wstunnel

Q_DECLARE_METATYPE(wstunnel::TunnelError)

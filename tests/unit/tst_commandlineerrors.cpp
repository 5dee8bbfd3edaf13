#include "common/CommandLineErrors.h"

#include <QMetaEnum>
#include <QSet>
#include <QTest>

using namespace wstunnel;

namespace {

using Kind = TunnelError::Kind;

const QString kUrl = QStringLiteral("wss://devbox.example:8443/tunnel");
const QString kEndpoint = QStringLiteral("devbox.example:8443");
const QString kProxy = QStringLiteral("http://127.0.0.1:3128");
const QString kFingerprint = QStringLiteral("AB:CD:EF:01");

struct Row
{
    const char *name;
    TunnelError error;
    QString text;
};

TunnelError withFile(Kind kind, const QString &path, TunnelError::TlsFile role,
                     const QString &detail = QString())
{
    TunnelError error(kind, path, detail);
    error.tlsFile = role;
    return error;
}

TunnelError throughProxy(Kind kind, const QString &detail = QString(),
                         const QString &user = QString())
{
    TunnelError error(kind, kEndpoint, detail);
    error.proxy = kProxy;
    error.proxyUser = user;
    return error;
}

// Every kind at least once, with the exact words `wstunnel --headless` prints for it: scripts and
// tests/network match these.
QList<Row> rows()
{
    QList<Row> rows;
    rows.append({"token refused", TunnelError(Kind::TokenRefused, kUrl),
                 kUrl + QStringLiteral(" refused the token (HTTP 401): check --token-file or "
                                       "WSTUNNEL_TOKEN")});
    rows.append({"upgrade forbidden", TunnelError(Kind::UpgradeForbidden, kUrl),
                 kUrl + QStringLiteral(" refused the upgrade (HTTP 403 Forbidden): a gateway in "
                                       "front of the remote may require a header (--header "
                                       "'Name: value'), or the token is not allowed there")});
    rows.append({"no tunnel at path", TunnelError(Kind::NoTunnelAtPath, kUrl),
                 kUrl + QStringLiteral(" has no tunnel at this path (HTTP 404): check the URL "
                                       "path against the remote's --path")});
    TunnelError status(Kind::HttpStatus, kUrl, QStringLiteral("Unhandled http status code: 502"));
    status.httpStatus = 502;
    rows.append({"other HTTP status", status, QStringLiteral("HTTP 502 from ") + kUrl});
    TunnelError limit(Kind::HttpStatus, kUrl,
                      QStringLiteral("Unhandled http status code: 503 (Service Unavailable: "
                                     "session limit of 64 reached)."));
    limit.httpStatus = 503;
    limit.remoteReason = QStringLiteral("session limit of 64 reached");
    rows.append({"HTTP status with the remote's reason", limit,
                 QStringLiteral("HTTP 503 from ") + kUrl +
                     QStringLiteral(": session limit of 64 reached")});

    TunnelError untrusted(Kind::CertificateNotTrusted, kEndpoint,
                          QStringLiteral("The issuer certificate could not be found"));
    untrusted.certificateSha256 = kFingerprint;
    untrusted.certificateProblems = TunnelError::CertificateProblem::UntrustedIssuer |
                                    TunnelError::CertificateProblem::HostNameMismatch;
    rows.append({"certificate not trusted", untrusted,
                 QStringLiteral("TLS: the certificate of devbox.example:8443 is not trusted: The "
                                "issuer certificate could not be found (server certificate "
                                "SHA-256 fingerprint AB:CD:EF:01); use a host name the "
                                "certificate lists in the URL, give the CA that issued it with "
                                "--ca-file, or, once you have checked the fingerprint, trust "
                                "this certificate with --trust-fingerprint")});
    TunnelError expired(Kind::CertificateNotTrusted, kEndpoint,
                        QStringLiteral("The certificate has expired"));
    expired.certificateSha256 = kFingerprint;
    expired.certificateProblems = TunnelError::CertificateProblem::Expired;
    rows.append({"certificate expired", expired,
                 QStringLiteral("TLS: the certificate of devbox.example:8443 is not trusted: The "
                                "certificate has expired (server certificate SHA-256 fingerprint "
                                "AB:CD:EF:01); the server's certificate must be renewed, or this "
                                "computer's clock is wrong, or, once you have checked the "
                                "fingerprint, trust this certificate with --trust-fingerprint")});
    TunnelError pin(Kind::PublicKeyPinMismatch, kEndpoint);
    pin.expectedPin = "EXPECTED=";
    pin.publicKeyPin = "ACTUAL=";
    pin.certificateSha256 = kFingerprint;
    rows.append({"public key pin mismatch", pin,
                 QStringLiteral("TLS: the public key of devbox.example:8443 does not match "
                                "--pin-sha256 EXPECTED= (its key is sha256/ACTUAL=, server "
                                "certificate SHA-256 fingerprint AB:CD:EF:01); not connecting")});
    rows.append(
        {"pin not checkable", TunnelError(Kind::PinNotCheckable, kEndpoint),
         QStringLiteral("TLS: cannot check --pin-sha256 with this Qt version; not connecting")});
    rows.append({"client certificate required",
                 TunnelError(Kind::ClientCertificateRequired, kEndpoint,
                             QStringLiteral("certificate required")),
                 QStringLiteral("TLS: devbox.example:8443 requires a client certificate (server "
                                "said: certificate required); give --client-cert and "
                                "--client-key")});
    TunnelError refusedCertificate(Kind::ClientCertificateRefused, kEndpoint,
                                   QStringLiteral("unknown CA"));
    refusedCertificate.file = QStringLiteral("/home/me/intruder.pem");
    rows.append({"client certificate refused", refusedCertificate,
                 QStringLiteral("TLS: devbox.example:8443 refused the client certificate "
                                "/home/me/intruder.pem (server said: unknown CA); it wants one "
                                "issued by the CA in its --client-ca")});
    rows.append({"TLS alert",
                 TunnelError(Kind::TlsAlert, kEndpoint, QStringLiteral("protocol version")),
                 QStringLiteral("TLS: devbox.example:8443 ended the handshake: protocol version")});
    rows.append(
        {"TLS handshake failed",
         TunnelError(Kind::TlsHandshakeFailed, kEndpoint, QStringLiteral("wrong version number")),
         QStringLiteral("TLS handshake with devbox.example:8443 failed: wrong version "
                        "number (does it serve wss? For a plain server use a ws:// URL)")});
    rows.append({"closed during TLS handshake",
                 TunnelError(Kind::ClosedDuringTlsHandshake, kEndpoint),
                 QStringLiteral("devbox.example:8443 closed the connection during the TLS "
                                "handshake (does it serve wss? For a plain server use a ws:// "
                                "URL)")});
    TunnelError setup(Kind::TlsSetupFailed, kEndpoint, QStringLiteral("key values mismatch"));
    rows.append({"TLS setup failed", setup,
                 QStringLiteral("TLS: cannot set up the connection: key values mismatch")});
    setup.file = QStringLiteral("/home/me/desktop.pem");
    rows.append({"TLS setup failed with a client certificate", setup,
                 QStringLiteral("TLS: cannot set up the connection: key values mismatch; check "
                                "that --client-key belongs to --client-cert")});
    rows.append(
        {"CA file unreadable",
         withFile(Kind::TlsFileUnreadable, QStringLiteral("/etc/ca.pem"),
                  TunnelError::TlsFile::CaFile, QStringLiteral("No such file or directory")),
         QStringLiteral("cannot read --ca-file /etc/ca.pem: No such file or directory")});
    rows.append(
        {"client certificate unreadable",
         withFile(Kind::TlsFileUnreadable, QStringLiteral("/home/me/desktop.pem"),
                  TunnelError::TlsFile::ClientCertificate, QStringLiteral("Permission denied")),
         QStringLiteral("cannot read --client-cert /home/me/desktop.pem: Permission "
                        "denied")});
    rows.append({"client key unreadable",
                 withFile(Kind::TlsFileUnreadable, QStringLiteral("/home/me/desktop.key"),
                          TunnelError::TlsFile::ClientKey, QStringLiteral("Permission denied")),
                 QStringLiteral("cannot read --client-key /home/me/desktop.key: Permission "
                                "denied")});
    rows.append({"CA file invalid",
                 withFile(Kind::TlsFileInvalid, QStringLiteral("/etc/ca.pem"),
                          TunnelError::TlsFile::CaFile),
                 QStringLiteral("--ca-file /etc/ca.pem holds no PEM certificate (-----BEGIN "
                                "CERTIFICATE-----)")});
    rows.append({"client key invalid",
                 withFile(Kind::TlsFileInvalid, QStringLiteral("/home/me/desktop.key"),
                          TunnelError::TlsFile::ClientKey),
                 QStringLiteral("--client-key /home/me/desktop.key holds no unencrypted PEM "
                                "private key (RSA, EC or DSA)")});
    rows.append({"client certificate incomplete",
                 TunnelError(Kind::ClientCertificateIncomplete, QString()),
                 QStringLiteral("a client certificate needs both --client-cert and --client-key")});
    rows.append({"proxy authentication required", throughProxy(Kind::ProxyAuthenticationRequired),
                 QStringLiteral("proxy authentication failed: proxy http://127.0.0.1:3128 "
                                "requires a user name and password (HTTP 407); give them as "
                                "--proxy http://USER:PASS@HOST:PORT")});
    rows.append({"proxy credentials rejected",
                 throughProxy(Kind::ProxyCredentialsRejected, QString(), QStringLiteral("alice")),
                 QStringLiteral("proxy authentication failed: proxy http://127.0.0.1:3128 "
                                "rejected the credentials of user 'alice' (HTTP 407); check the "
                                "user and password in --proxy")});
    rows.append({"proxy refused CONNECT", throughProxy(Kind::ProxyRefusedConnect),
                 QStringLiteral("proxy http://127.0.0.1:3128 refused to connect to "
                                "devbox.example:8443 (HTTP 403): the proxy does not allow CONNECT "
                                "to this host or port")});
    rows.append({"proxy cannot reach the remote",
                 throughProxy(Kind::ProxyCannotReachRemote, QStringLiteral("Host not found")),
                 QStringLiteral("proxy http://127.0.0.1:3128 could not reach devbox.example:8443: "
                                "Host not found")});
    rows.append({"proxy unreachable",
                 throughProxy(Kind::ProxyUnreachable, QStringLiteral("Connection refused")),
                 QStringLiteral("proxy problem: http://127.0.0.1:3128: Connection refused")});
    rows.append({"other proxy problem",
                 throughProxy(Kind::ProxyProblem, QStringLiteral("Proxy connection closed")),
                 QStringLiteral("proxy problem: http://127.0.0.1:3128: Proxy connection closed")});
    rows.append(
        {"connection refused",
         TunnelError(Kind::ConnectionRefused, kEndpoint, QStringLiteral("Connection refused")),
         QStringLiteral("Connection refused")});
    rows.append({"host not found",
                 TunnelError(Kind::HostNotFound, kEndpoint, QStringLiteral("Host not found")),
                 QStringLiteral("Host not found")});
    rows.append(
        {"connection failed",
         TunnelError(Kind::ConnectionFailed, kEndpoint, QStringLiteral("Network unreachable")),
         QStringLiteral("Network unreachable")});
    TunnelError timedOut(Kind::TimedOut, kUrl);
    timedOut.timeoutSeconds = 15;
    rows.append({"timed out", timedOut,
                 QStringLiteral("no answer from ") + kUrl + QStringLiteral(" within 15 s")});
    rows.append({"connection lost",
                 TunnelError(Kind::ConnectionLost, kUrl,
                             QStringLiteral("closed by peer: server shutting down")),
                 QStringLiteral("closed by peer: server shutting down")});
    TunnelError inUse(Kind::LocalPortInUse, QStringLiteral("127.0.0.1:15432"),
                      QStringLiteral("The bound address is already in use"));
    inUse.forward = QStringLiteral("127.0.0.1:15432:db.internal:5432");
    rows.append({"local port in use", inUse,
                 QStringLiteral("cannot listen on 127.0.0.1:15432: The bound address is already "
                                "in use")});
    rows.append({"cannot listen",
                 TunnelError(Kind::CannotListen, QStringLiteral("127.0.0.1:80"),
                             QStringLiteral("The address is protected")),
                 QStringLiteral("cannot listen on 127.0.0.1:80: The address is protected")});
    TunnelError bindAddress(Kind::InvalidBindAddress, QStringLiteral("localhost"));
    bindAddress.forward = QStringLiteral("localhost:15432:db.internal:5432");
    rows.append({"invalid bind address", bindAddress,
                 QStringLiteral("-L localhost:15432:db.internal:5432: bind address 'localhost' is "
                                "not an IP address")});
    TunnelError reverse(Kind::ReverseForwardRefused, QStringLiteral("127.0.0.1:9000"),
                        QStringLiteral("cannot listen on 127.0.0.1:9000: The bound address is "
                                       "already in use"));
    reverse.forward = QStringLiteral("127.0.0.1:9000:127.0.0.1:8080");
    rows.append({"reverse forward refused", reverse,
                 QStringLiteral("-R 127.0.0.1:9000:127.0.0.1:8080 refused by the remote: cannot "
                                "listen on 127.0.0.1:9000: The bound address is already in use")});
    rows.append({"built-in remote failed",
                 TunnelError(Kind::BuiltInRemoteFailed, QStringLiteral("This computer"),
                             QStringLiteral("cannot listen on 127.0.0.1:0: out of descriptors")),
                 QStringLiteral("the built-in remote did not start: cannot listen on "
                                "127.0.0.1:0: out of descriptors")});
    rows.append({"remote missing", TunnelError(Kind::RemoteMissing, QStringLiteral("r1")),
                 QStringLiteral("its remote no longer exists")});
    rows.append({"not a hub", TunnelError(Kind::NotAHub, QStringLiteral("ws://127.0.0.1:8080/")),
                 QStringLiteral("ws://127.0.0.1:8080/ is not a hub (it does not relay to agents); "
                                "give the URL of a wstunnel-remote hub")});
    rows.append({"agent list refused",
                 TunnelError(Kind::AgentListRefused, QStringLiteral("ws://127.0.0.1:8080/")),
                 QStringLiteral("ws://127.0.0.1:8080/ refused to list its agents (HTTP 403): a "
                                "hub older than this version, or a token that is not a desktop's; "
                                "give the agent's name with --agent")});
    return rows;
}

} // namespace

// The command line's words for every kind of TunnelError: today's texts, with the advice that
// names options, while the neutral log words name none.
class CommandLineErrorsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void wording_data()
    {
        QTest::addColumn<TunnelError>("error");
        QTest::addColumn<QString>("text");
        for (const Row &row : rows())
            QTest::newRow(row.name) << row.error << row.text;
    }

    void wording()
    {
        QFETCH(TunnelError, error);
        QFETCH(QString, text);
        QCOMPARE(CommandLineErrors::describe(error), text);
        // What the log line says has the same facts but never an option to type.
        const QString neutral = error.toString();
        QVERIFY2(!neutral.contains(QLatin1String("--")) &&
                     !neutral.contains(QLatin1String("WSTUNNEL_TOKEN")),
                 qPrintable(neutral));
    }

    void everyKindHasARow()
    {
        QSet<Kind> covered;
        for (const Row &row : rows())
            covered.insert(row.error.kind);
        const QMetaEnum kinds = QMetaEnum::fromType<Kind>();
        for (int i = 0; i < kinds.keyCount(); ++i) {
            const auto kind = Kind(kinds.value(i));
            if (kind != Kind::None)
                QVERIFY2(covered.contains(kind), kinds.key(i));
        }
    }

    void noErrorHasNoWords()
    {
        QVERIFY(!TunnelError().isError());
        QVERIFY(CommandLineErrors::describe(TunnelError()).isEmpty());
    }
};

QTEST_GUILESS_MAIN(CommandLineErrorsTest)
#include "tst_commandlineerrors.moc"

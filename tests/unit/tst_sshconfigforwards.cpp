#include "config/SshConfigForwards.h"

#include <QTest>

using namespace wstunnel;

class TestSshConfigForwards : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void localAndRemoteForwardsKeepTheirHostBlock();
    void keywordsAreCaseInsensitiveAndTakeEqualsSign();
    void bindAddressesFollowOpenSsh();
    void unsupportedLinesAreListedWithTheirReason();
    void dynamicForwardsBecomeSocksMappings();
    void commentsAndOtherKeywordsAreIgnored();
};

void TestSshConfigForwards::localAndRemoteForwardsKeepTheirHostBlock()
{
    const SshConfigForwards parsed =
        SshConfigForwards::parse(QStringLiteral("LocalForward 8000 top.example:80\n"
                                                "Host devbox dev2\n"
                                                "    HostName devbox.internal\n"
                                                "    LocalForward 15432 db.internal:5432\n"
                                                "    RemoteForward 9000 127.0.0.1:8080\n"
                                                "Host *.corp\n"
                                                "    LocalForward [::1]:6380 [fd00::5]:6379\n"));
    QCOMPARE(parsed.skipped.size(), 0);
    QCOMPARE(parsed.forwards.size(), 4);

    QCOMPARE(parsed.forwards.at(0).host, QString());
    QCOMPARE(parsed.forwards.at(0).spec.toString(),
             QStringLiteral("127.0.0.1:8000:top.example:80"));

    const SshConfigForwards::Forward &local = parsed.forwards.at(1);
    QCOMPARE(local.host, QStringLiteral("devbox dev2"));
    QCOMPARE(local.line, 4);
    QCOMPARE(local.spec.direction, ForwardSpec::Direction::Local);
    QCOMPARE(local.spec.bindHost, QStringLiteral("127.0.0.1"));
    QCOMPARE(local.spec.bindPort, quint16(15432));
    QCOMPARE(local.spec.targetHost, QStringLiteral("db.internal"));
    QCOMPARE(local.spec.targetPort, quint16(5432));

    const SshConfigForwards::Forward &reverse = parsed.forwards.at(2);
    QCOMPARE(reverse.host, QStringLiteral("devbox dev2"));
    QCOMPARE(reverse.spec.direction, ForwardSpec::Direction::Reverse);
    QCOMPARE(reverse.spec.bindPort, quint16(9000));
    QCOMPARE(reverse.spec.targetEndpoint(), QStringLiteral("127.0.0.1:8080"));

    const SshConfigForwards::Forward &v6 = parsed.forwards.at(3);
    QCOMPARE(v6.host, QStringLiteral("*.corp"));
    QCOMPARE(v6.spec.bindHost, QStringLiteral("::1"));
    QCOMPARE(v6.spec.targetHost, QStringLiteral("fd00::5"));
    QCOMPARE(v6.spec.targetPort, quint16(6379));
}

void TestSshConfigForwards::keywordsAreCaseInsensitiveAndTakeEqualsSign()
{
    const SshConfigForwards parsed = SshConfigForwards::parse(
        QStringLiteral("host=box\nlocalforward=1080 a:80\nLOCALFORWARD = 1081 \"b:81\"\n"
                       "\tRemoteForward\t2000\tc:22\r\n"));
    QCOMPARE(parsed.skipped.size(), 0);
    QCOMPARE(parsed.forwards.size(), 3);
    QCOMPARE(parsed.forwards.at(0).host, QStringLiteral("box"));
    QCOMPARE(parsed.forwards.at(0).spec.targetEndpoint(), QStringLiteral("a:80"));
    QCOMPARE(parsed.forwards.at(1).spec.bindPort, quint16(1081));
    QCOMPARE(parsed.forwards.at(1).spec.targetEndpoint(), QStringLiteral("b:81"));
    QCOMPARE(parsed.forwards.at(2).spec.direction, ForwardSpec::Direction::Reverse);
    QCOMPARE(parsed.forwards.at(2).spec.targetEndpoint(), QStringLiteral("c:22"));
}

void TestSshConfigForwards::bindAddressesFollowOpenSsh()
{
    const SshConfigForwards parsed = SshConfigForwards::parse(
        QStringLiteral("LocalForward *:8080 web:80\nLocalForward localhost:8081 web:81\n"
                       "LocalForward 0.0.0.0:8082 web:82\n"));
    QCOMPARE(parsed.forwards.size(), 3);
    // As in OpenSSH, `*` is every interface of both families (ForwardSpec keeps it as `*`).
    QCOMPARE(parsed.forwards.at(0).spec.bindHost, QStringLiteral("*"));
    QCOMPARE(parsed.forwards.at(1).spec.bindHost, QStringLiteral("127.0.0.1"));
    QCOMPARE(parsed.forwards.at(2).spec.bindHost, QStringLiteral("0.0.0.0"));
}

void TestSshConfigForwards::unsupportedLinesAreListedWithTheirReason()
{
    const SshConfigForwards parsed =
        SshConfigForwards::parse(QStringLiteral("Host x\n"
                                                "DynamicForward 1080 extra\n"
                                                "RemoteForward 1081\n"
                                                "LocalForward /tmp/app.sock db:5432\n"
                                                "RemoteForward 9000 /run/agent.sock\n"
                                                "LocalForward 70000 db:5432\n"
                                                "LocalForward 5432\n"
                                                "DynamicForward /tmp/socks.sock\n"
                                                "DynamicForward 70000\n"
                                                "LocalForward 5433 db:5432\n"));
    QCOMPARE(parsed.forwards.size(), 1);
    QCOMPARE(parsed.forwards.first().line, 10);
    QCOMPARE(parsed.skipped.size(), 8);
    const QList<SshConfigForwards::SkipReason> reasons = {
        SshConfigForwards::SkipReason::Malformed,  SshConfigForwards::SkipReason::ReverseSocks,
        SshConfigForwards::SkipReason::UnixSocket, SshConfigForwards::SkipReason::UnixSocket,
        SshConfigForwards::SkipReason::Malformed,  SshConfigForwards::SkipReason::Malformed,
        SshConfigForwards::SkipReason::UnixSocket, SshConfigForwards::SkipReason::Malformed};
    for (int i = 0; i < reasons.size(); ++i) {
        QCOMPARE(parsed.skipped.at(i).reason, reasons.at(i));
        QCOMPARE(parsed.skipped.at(i).line, i + 2);
    }
    QCOMPARE(parsed.skipped.at(1).text, QStringLiteral("RemoteForward 1081"));
}

void TestSshConfigForwards::dynamicForwardsBecomeSocksMappings()
{
    const SshConfigForwards parsed = SshConfigForwards::parse(
        QStringLiteral("Host jump\n  DynamicForward 1080\n  DynamicForward=127.0.0.2:1081\n"));
    QCOMPARE(parsed.skipped.size(), 0);
    QCOMPARE(parsed.forwards.size(), 2);
    for (const SshConfigForwards::Forward &forward : parsed.forwards) {
        QCOMPARE(forward.host, QStringLiteral("jump"));
        QCOMPARE(forward.spec.direction, ForwardSpec::Direction::Dynamic);
        QVERIFY(forward.spec.targetHost.isEmpty());
    }
    QCOMPARE(parsed.forwards.at(0).spec.bindPort, quint16(1080));
    QCOMPARE(parsed.forwards.at(0).spec.bindHost, QStringLiteral("127.0.0.1"));
    QCOMPARE(parsed.forwards.at(1).spec.bindHost, QStringLiteral("127.0.0.2"));
    QCOMPARE(parsed.forwards.at(1).spec.bindPort, quint16(1081));
}

void TestSshConfigForwards::commentsAndOtherKeywordsAreIgnored()
{
    const SshConfigForwards parsed = SshConfigForwards::parse(
        QStringLiteral("# LocalForward 1 a:1\n\n   # indented comment\nUser me\n"
                       "ProxyCommand ssh -W %h:%p jump\nMatch host db exec \"true\"\n"
                       "LocalForward 5432 db:5432\n"));
    QCOMPARE(parsed.skipped.size(), 0);
    QCOMPARE(parsed.forwards.size(), 1);
    QCOMPARE(parsed.forwards.first().host, QStringLiteral("Match host db exec true"));
}

QTEST_GUILESS_MAIN(TestSshConfigForwards)
#include "tst_sshconfigforwards.moc"

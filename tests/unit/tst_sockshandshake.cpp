#include "forward/SocksHandshake.h"

#include <QTest>

using namespace wstunnel;

namespace {

QByteArray bytes(std::initializer_list<int> values)
{
    QByteArray result;
    for (const int value : values)
        result.append(char(value));
    return result;
}

const QByteArray kGreeting = bytes({5, 1, 0});
const QByteArray kNoAuthChosen = bytes({5, 0});
// What the client sends after its request; the handshake must leave it in the socket.
const QByteArray kPayload = QByteArrayLiteral("GET / HTTP/1.1\r\n");

} // namespace

class SocksHandshakeTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void requests_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QByteArray>("output");
        QTest::addColumn<int>("version");

        QTest::newRow("socks5 domain name stays unresolved")
            << kGreeting + bytes({5, 1, 0, 3, 11}) + "db.internal" + bytes({0x15, 0x38})
            << "db.internal" << 5432 << kNoAuthChosen << 5;
        QTest::newRow("socks5 ipv4") << kGreeting + bytes({5, 1, 0, 1, 127, 0, 0, 1, 0x1F, 0x90})
                                     << "127.0.0.1" << 8080 << kNoAuthChosen << 5;
        QTest::newRow("socks5 ipv6")
            << kGreeting +
                   bytes({5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 22})
            << "::1" << 22 << kNoAuthChosen << 5;
        QTest::newRow("socks5 no-auth among other methods")
            << bytes({5, 3, 2, 1, 0}) + bytes({5, 1, 0, 3, 1}) + "h" + bytes({0, 80}) << "h" << 80
            << kNoAuthChosen << 5;
        QTest::newRow("socks4 address") << bytes({4, 1, 0, 80, 127, 0, 0, 1}) + "user" + bytes({0})
                                        << "127.0.0.1" << 80 << QByteArray() << 4;
        QTest::newRow("socks4a host name") << bytes({4, 1, 0x01, 0xBB, 0, 0, 0, 7}) + "alice" +
                                                  bytes({0}) + "example.test" + bytes({0})
                                           << "example.test" << 443 << QByteArray() << 4;
        QTest::newRow("socks4a without user id")
            << bytes({4, 1, 0, 80, 0, 0, 0, 1, 0}) + "web" + bytes({0}) << "web" << 80
            << QByteArray() << 4;
    }

    void requests()
    {
        QFETCH(QByteArray, input);
        SocksHandshake handshake;
        const qsizetype taken = handshake.feed(input + kPayload);
        QCOMPARE(handshake.state(), SocksHandshake::State::Requested);
        QCOMPARE(taken, input.size());
        QCOMPARE(handshake.bytesWanted(), 0);
        QTEST(handshake.host(), "host");
        QTEST(int(handshake.port()), "port");
        QTEST(handshake.takeOutput(), "output");
        QTEST(handshake.version(), "version");
    }

    // A socket read of bytesWanted() at a time never takes the client's payload.
    void requestsReadAsWanted_data() { requests_data(); }

    void requestsReadAsWanted()
    {
        QFETCH(QByteArray, input);
        const QByteArray stream = input + kPayload;
        SocksHandshake handshake;
        qsizetype position = 0;
        QByteArray output;
        while (handshake.state() == SocksHandshake::State::Reading) {
            const qsizetype wanted = handshake.bytesWanted();
            QVERIFY(wanted > 0);
            QCOMPARE(handshake.feed(QByteArrayView(stream).sliced(position, wanted)), wanted);
            position += wanted;
            output += handshake.takeOutput();
        }
        QCOMPARE(handshake.state(), SocksHandshake::State::Requested);
        QCOMPARE(position, input.size());
        QTEST(handshake.host(), "host");
        QTEST(int(handshake.port()), "port");
        QTEST(output, "output");
    }

    void refuses_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QByteArray>("output");
        QTest::addColumn<QString>("error");

        QTest::newRow("not socks") << QByteArray("GET / HTTP/1.1\r\n") << QByteArray()
                                   << "not a SOCKS4 or SOCKS5 client (first byte 71)";
        QTest::newRow("only username/password offered")
            << bytes({5, 1, 2}) << bytes({5, 0xFF})
            << "the client offers no method without authentication";
        QTest::newRow("no methods") << bytes({5, 0}) << bytes({5, 0xFF})
                                    << "the client offers no method without authentication";
        QTest::newRow("bind command") << kGreeting + bytes({5, 2, 0, 1, 127, 0, 0, 1, 0, 80})
                                      << kNoAuthChosen + bytes({5, 7, 0, 1, 0, 0, 0, 0, 0, 0})
                                      << "command 2 is not supported (only CONNECT)";
        QTest::newRow("udp associate") << kGreeting + bytes({5, 3, 0, 1, 0, 0, 0, 0, 0, 0})
                                       << kNoAuthChosen + bytes({5, 7, 0, 1, 0, 0, 0, 0, 0, 0})
                                       << "command 3 is not supported (only CONNECT)";
        QTest::newRow("unknown address type")
            << kGreeting + bytes({5, 1, 0, 9, 1, 2, 3})
            << kNoAuthChosen + bytes({5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
            << "address type 9 is not supported";
        QTest::newRow("empty domain name")
            << kGreeting + bytes({5, 1, 0, 3, 0, 0, 80})
            << kNoAuthChosen + bytes({5, 1, 0, 1, 0, 0, 0, 0, 0, 0}) << "empty domain name";
        QTest::newRow("socks4 bind")
            << bytes({4, 2, 0, 80, 127, 0, 0, 1, 0}) << bytes({0, 0x5B, 0, 0, 0, 0, 0, 0})
            << "SOCKS4 command 2 is not supported (only CONNECT)";
        QTest::newRow("socks4 endless user id")
            << bytes({4, 1, 0, 80, 127, 0, 0, 1}) + QByteArray(600, 'u')
            << bytes({0, 0x5B, 0, 0, 0, 0, 0, 0}) << "SOCKS4 user id or host name too long";
    }

    void refuses()
    {
        QFETCH(QByteArray, input);
        SocksHandshake handshake;
        handshake.feed(input);
        QCOMPARE(handshake.state(), SocksHandshake::State::Failed);
        QTEST(handshake.takeOutput(), "output");
        QTEST(handshake.error(), "error");
        QCOMPARE(handshake.bytesWanted(), 0);
    }

    void waitsForMore()
    {
        SocksHandshake handshake;
        QCOMPARE(handshake.feed(kGreeting + bytes({5, 1, 0, 3, 11}) + "db.int"),
                 kGreeting.size() + 11);
        QCOMPARE(handshake.state(), SocksHandshake::State::Reading);
        QCOMPARE(handshake.bytesWanted(), 5 + 2); // "ernal" and the port
    }

    void repliesInTheClientsVersion_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<int>("code");
        QTest::addColumn<QByteArray>("reply");
        const QByteArray socks5 = kGreeting + bytes({5, 1, 0, 3, 1}) + "h" + bytes({0, 80});
        const QByteArray socks4 = bytes({4, 1, 0, 80, 127, 0, 0, 1, 0});
        QTest::newRow("socks5 success") << socks5 << int(SocksHandshake::Reply::Succeeded)
                                        << bytes({5, 0, 0, 1, 0, 0, 0, 0, 0, 0});
        QTest::newRow("socks5 not allowed") << socks5 << int(SocksHandshake::Reply::NotAllowed)
                                            << bytes({5, 2, 0, 1, 0, 0, 0, 0, 0, 0});
        QTest::newRow("socks4 granted") << socks4 << int(SocksHandshake::Reply::Succeeded)
                                        << bytes({0, 0x5A, 0, 0, 0, 0, 0, 0});
        QTest::newRow("socks4 rejected") << socks4 << int(SocksHandshake::Reply::ConnectionRefused)
                                         << bytes({0, 0x5B, 0, 0, 0, 0, 0, 0});
    }

    void repliesInTheClientsVersion()
    {
        QFETCH(QByteArray, request);
        QFETCH(int, code);
        SocksHandshake handshake;
        handshake.feed(request);
        QCOMPARE(handshake.state(), SocksHandshake::State::Requested);
        QTEST(handshake.reply(SocksHandshake::Reply(code)), "reply");
    }

    void mapsOpenFailures_data()
    {
        QTest::addColumn<int>("failure");
        QTest::addColumn<int>("reply");
        QTest::newRow("not allowed") << int(FailureCode::NotAllowed) << 2;
        QTest::newRow("unreachable") << int(FailureCode::Unreachable) << 4;
        QTest::newRow("refused") << int(FailureCode::Refused) << 5;
        QTest::newRow("timed out") << int(FailureCode::TimedOut) << 6;
        QTest::newRow("limit reached") << int(FailureCode::LimitReached) << 1;
        QTest::newRow("i/o error") << int(FailureCode::IoError) << 1;
    }

    void mapsOpenFailures()
    {
        QFETCH(int, failure);
        QTEST(int(SocksHandshake::replyFor(FailureCode(failure))), "reply");
    }
};

QTEST_GUILESS_MAIN(SocksHandshakeTest)
#include "tst_sockshandshake.moc"

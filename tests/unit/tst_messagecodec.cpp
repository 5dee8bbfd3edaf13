#include "protocol/MessageCodec.h"

#include <QTest>
#include <QtEndian>

using namespace wstunnel;

class MessageCodecTest : public QObject
{
    Q_OBJECT

private:
    static constexpr quint32 kMax = 1024 * 1024;

    static Message roundTrip(const QByteArray &bytes)
    {
        const MessageCodec::DecodeResult result = MessageCodec::decode(bytes, kMax);
        if (!result.message)
            qWarning("decode failed: %s", qPrintable(result.error));
        return result.message.value_or(Message{});
    }

    static QString errorOf(const QByteArray &bytes, quint32 max = kMax)
    {
        const MessageCodec::DecodeResult result = MessageCodec::decode(bytes, max);
        return result.message ? QString() : result.error;
    }

private Q_SLOTS:
    void helloRoundTrip()
    {
        const Message m = roundTrip(MessageCodec::hello(1, 3, 65536, QStringLiteral("devbox")));
        QCOMPARE(m.type, MessageType::Hello);
        QCOMPARE(m.minVersion, quint16(1));
        QCOMPARE(m.maxVersion, quint16(3));
        QCOMPARE(m.maxMessageSize, quint32(65536));
        QCOMPARE(m.text, QStringLiteral("devbox"));
    }

    void openRoundTrip()
    {
        const Message m = roundTrip(MessageCodec::open(7, ChannelTransport::Tcp, 1 << 20,
                                                       QStringLiteral("db.internal"), 5432));
        QCOMPARE(m.type, MessageType::Open);
        QCOMPARE(m.channel, quint32(7));
        QCOMPARE(m.transport, ChannelTransport::Tcp);
        QCOMPARE(m.window, quint32(1 << 20));
        QCOMPARE(m.host, QStringLiteral("db.internal"));
        QCOMPARE(m.port, quint16(5432));
    }

    void channelMessagesRoundTrip()
    {
        Message m = roundTrip(MessageCodec::openOk(9, 4096));
        QCOMPARE(m.type, MessageType::OpenOk);
        QCOMPARE(m.channel, quint32(9));
        QCOMPARE(m.window, quint32(4096));

        m = roundTrip(MessageCodec::openFailed(9, FailureCode::Refused, QStringLiteral("no")));
        QCOMPARE(m.type, MessageType::OpenFailed);
        QCOMPARE(m.code, FailureCode::Refused);
        QCOMPARE(m.text, QStringLiteral("no"));

        m = roundTrip(MessageCodec::credit(9, 0x1'0000'0001ull, 2048));
        QCOMPARE(m.type, MessageType::Credit);
        QCOMPARE(m.offset, 0x1'0000'0001ull);
        QCOMPARE(m.window, quint32(2048));

        m = roundTrip(MessageCodec::fin(9, 123456789012ull));
        QCOMPARE(m.type, MessageType::Fin);
        QCOMPARE(m.offset, 123456789012ull);

        m = roundTrip(MessageCodec::reset(9, FailureCode::IoError, QStringLiteral("broken pipe")));
        QCOMPARE(m.type, MessageType::Reset);
        QCOMPARE(m.code, FailureCode::IoError);
        QCOMPARE(m.text, QStringLiteral("broken pipe"));

        m = roundTrip(MessageCodec::goAway(FailureCode::Shutdown, QStringLiteral("bye")));
        QCOMPARE(m.type, MessageType::GoAway);
        QCOMPARE(m.code, FailureCode::Shutdown);

        m = roundTrip(MessageCodec::listen(3, QStringLiteral("127.0.0.1"), 9000));
        QCOMPARE(m.type, MessageType::Listen);
        QCOMPARE(m.channel, quint32(3));
        QCOMPARE(m.host, QStringLiteral("127.0.0.1"));
        QCOMPARE(m.port, quint16(9000));

        m = roundTrip(MessageCodec::listenOk(3, 9001));
        QCOMPARE(m.type, MessageType::ListenOk);
        QCOMPARE(m.port, quint16(9001));

        m = roundTrip(
            MessageCodec::listenFailed(3, FailureCode::AddressInUse, QStringLiteral("busy")));
        QCOMPARE(m.type, MessageType::ListenFailed);
        QCOMPARE(m.code, FailureCode::AddressInUse);

        m = roundTrip(MessageCodec::unlisten(3));
        QCOMPARE(m.type, MessageType::Unlisten);
        QCOMPARE(m.channel, quint32(3));
    }

    void dataRoundTrip()
    {
        const QByteArray payload("payload bytes\0with nul", 22);
        const QByteArray bytes = MessageCodec::data(11, 1ull << 40, payload);
        QCOMPARE(bytes.size(), protocol::kDataHeaderSize + payload.size());
        const Message m = roundTrip(bytes);
        QCOMPARE(m.type, MessageType::Data);
        QCOMPARE(m.channel, quint32(11));
        QCOMPARE(m.offset, 1ull << 40);
        QCOMPARE(m.payload.toByteArray(), payload);

        const Message empty = roundTrip(MessageCodec::data(11, 0, QByteArrayView()));
        QVERIFY(empty.payload.isEmpty());
    }

    void dataHeaderInPlace()
    {
        QByteArray bytes(protocol::kDataHeaderSize + 3, Qt::Uninitialized);
        memcpy(bytes.data() + protocol::kDataHeaderSize, "abc", 3);
        MessageCodec::writeDataHeader(bytes.data(), 5, 77);
        QCOMPARE(bytes, MessageCodec::data(5, 77, "abc"));
    }

    void longStringsAreCutAtCharacterBoundary()
    {
        // 'é' is two bytes in UTF-8; 1024 of them cannot fit a 1024-byte reason.
        const QString reason(1024, QChar(0xE9));
        const Message m = roundTrip(MessageCodec::reset(1, FailureCode::IoError, reason));
        QCOMPARE(m.text, QString(512, QChar(0xE9)));
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("error");

        const QByteArray open =
            MessageCodec::open(1, ChannelTransport::Tcp, 10, QStringLiteral("h"), 1);
        QTest::newRow("empty") << QByteArray() << QStringLiteral("empty message");
        QTest::newRow("unknown type")
            << QByteArray("\x7f", 1) << QStringLiteral("unknown message type 0x7f");
        QTest::newRow("type zero")
            << QByteArray(1, '\0') << QStringLiteral("unknown message type 0x00");
        QTest::newRow("truncated hello") << MessageCodec::hello(1, 1, 65536, {}).left(5)
                                         << QStringLiteral("truncated hello message");
        QTest::newRow("truncated open")
            << open.left(open.size() - 1) << QStringLiteral("truncated open message");
        QTest::newRow("truncated data header")
            << MessageCodec::data(1, 0, "x").left(8) << QStringLiteral("truncated data message");
        QTest::newRow("truncated credit")
            << MessageCodec::credit(1, 2, 3).left(10) << QStringLiteral("truncated credit message");
        QTest::newRow("truncated fin")
            << MessageCodec::fin(1, 2).left(6) << QStringLiteral("truncated fin message");
        QTest::newRow("truncated reset reason")
            << MessageCodec::reset(1, FailureCode::Refused, QStringLiteral("abc")).chopped(1)
            << QStringLiteral("truncated reset message");
        QTest::newRow("trailing bytes") << MessageCodec::openOk(1, 2) + "x"
                                        << QStringLiteral("1 trailing bytes after open-ok message");
        QTest::newRow("unknown failure code")
            << QByteArray("\x08\0\0\0\x01\x63\0\0", 8) << QStringLiteral("unknown failure code 99");
        QTest::newRow("failure code zero")
            << QByteArray("\x04\0\0\0\x01\x00\0\0", 8) << QStringLiteral("unknown failure code 0");

        QByteArray badTransport = open;
        badTransport[5] = 9;
        QTest::newRow("unknown transport") << badTransport << QStringLiteral("unknown transport 9");

        QTest::newRow("empty host") << MessageCodec::open(1, ChannelTransport::Tcp, 1, QString(), 1)
                                    << QStringLiteral("open without a host");

        QByteArray longHost = QByteArray("\x02\0\0\0\x01\x01\0\0\0\x0a", 10);
        longHost += QByteArray("\x01\x00", 2) + QByteArray(256, 'h') + QByteArray("\0\x01", 2);
        QTest::newRow("host too long")
            << longHost << QStringLiteral("host of 256 bytes exceeds the limit of 255");

        QByteArray badUtf8 = QByteArray("\x08\0\0\0\x01\x01\0\x02\xc3\x28", 10);
        QTest::newRow("invalid utf-8") << badUtf8 << QStringLiteral("reason is not valid UTF-8");
        // Found by fuzz/messagecodec: a sequence cut off at the end of a string was dropped, so
        // "0.0.00\xe4" was read as the bind host "0.0.00".
        QTest::newRow("utf-8 cut off at the end of a string")
            << QByteArray("\x0a\0\0\0\x01\0\x07"
                          "0.0.00\xe4\x1f\x90",
                          16)
            << QStringLiteral("bind host is not valid UTF-8");

        QTest::newRow("empty version range") << MessageCodec::hello(3, 2, 65536, {})
                                             << QStringLiteral("version range 3..2 is empty");
        QTest::newRow("tiny message size")
            << MessageCodec::hello(1, 1, 100, {})
            << QStringLiteral("maximum message size 100 is below 16384");
    }

    void malformed()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, error);
        QCOMPARE(errorOf(bytes), error);
    }

    void oversizedMessageIsRejected()
    {
        const QByteArray bytes = MessageCodec::data(1, 0, QByteArray(2000, 'x'));
        QCOMPARE(errorOf(bytes, 1000),
                 QStringLiteral("message of %1 bytes exceeds the limit of 1000").arg(bytes.size()));
        QVERIFY(errorOf(bytes, quint32(bytes.size())).isEmpty());
    }

    // A UDP listen adds a transport byte, which only peers that carry UDP are sent; a TCP listen
    // stays as older peers know it.
    void listenCarriesItsTransport()
    {
        const QByteArray tcp = MessageCodec::listen(3, QStringLiteral("127.0.0.1"), 9000);
        const QByteArray udp =
            MessageCodec::listen(3, QStringLiteral("127.0.0.1"), 9000, ChannelTransport::Udp);
        QCOMPARE(udp.size(), tcp.size() + 1);
        QCOMPARE(roundTrip(tcp).transport, ChannelTransport::Tcp);
        const Message m = roundTrip(udp);
        QCOMPARE(m.transport, ChannelTransport::Udp);
        QCOMPARE(m.host, QStringLiteral("127.0.0.1"));
        QCOMPARE(m.port, quint16(9000));
        QCOMPARE(errorOf(tcp + char(7)), QStringLiteral("unknown transport 7"));
        QCOMPARE(errorOf(udp + char(2)), QStringLiteral("1 trailing bytes after listen message"));
    }

    void everyTruncationOfEveryTypeIsAnError()
    {
        const QList<QByteArray> messages = {
            MessageCodec::hello(1, 1, 65536, QStringLiteral("n")),
            MessageCodec::open(1, ChannelTransport::Tcp, 1, QStringLiteral("host"), 80),
            MessageCodec::openOk(1, 1),
            MessageCodec::openFailed(1, FailureCode::Refused, QStringLiteral("r")),
            MessageCodec::credit(1, 1, 1),
            MessageCodec::fin(1, 1),
            MessageCodec::reset(1, FailureCode::Refused, QStringLiteral("r")),
            MessageCodec::goAway(FailureCode::Shutdown, QStringLiteral("r")),
            MessageCodec::listen(1, QStringLiteral("h"), 1),
            MessageCodec::listenOk(1, 1),
            MessageCodec::listenFailed(1, FailureCode::Refused, QStringLiteral("r")),
            MessageCodec::unlisten(1),
        };
        for (const QByteArray &message : messages) {
            QVERIFY(errorOf(message).isEmpty());
            for (qsizetype length = 0; length < message.size(); ++length)
                QVERIFY2(
                    !errorOf(message.left(length)).isEmpty(),
                    qPrintable(
                        QStringLiteral("type %1 cut at %2").arg(int(message.at(0))).arg(length)));
        }
    }

    // Found by fuzz/messagecodec: a leading BOM was dropped, so two byte strings decoded to one
    // name and the name no longer encoded back to its bytes.
    void leadingBomIsKept()
    {
        const QString name = QStringLiteral("\uFEFFdevbox");
        const QByteArray bytes = MessageCodec::hello(1, 3, 65536, name);
        const auto result = MessageCodec::decode(bytes, 65536);
        QVERIFY2(result.message, qPrintable(result.error));
        QCOMPARE(result.message->text, name);
    }

    void agentStatusRoundTrip()
    {
        const Message m = roundTrip(MessageCodec::agentStatus(
            AgentState::Standby, QStringLiteral("devbox"), QStringLiteral("10.0.0.5:41712")));
        QCOMPARE(m.type, MessageType::AgentStatus);
        QCOMPARE(m.agentState, AgentState::Standby);
        QCOMPARE(m.host, QStringLiteral("devbox"));
        QCOMPARE(m.text, QStringLiteral("10.0.0.5:41712"));
        QCOMPARE(roundTrip(MessageCodec::agentStatus(AgentState::Absent, QStringLiteral("ci"), {}))
                     .agentState,
                 AgentState::Absent);
    }

    void malformedAgentStatus()
    {
        QByteArray unknownState =
            MessageCodec::agentStatus(AgentState::Active, QStringLiteral("devbox"), {});
        unknownState[1] = char(3);
        QCOMPARE(errorOf(unknownState), QStringLiteral("unknown agent state 3"));
        QCOMPARE(errorOf(MessageCodec::agentStatus(AgentState::Active, QString(), {})),
                 QStringLiteral("agent status without a name"));
        const QByteArray message =
            MessageCodec::agentStatus(AgentState::Active, QStringLiteral("d"), QStringLiteral("a"));
        for (qsizetype length = 1; length < message.size(); ++length)
            QVERIFY(!errorOf(message.left(length)).isEmpty());
    }

    void resumeMessagesRoundTrip()
    {
        const QByteArray id(protocol::kSessionIdSize, 'i');
        const QByteArray secret(protocol::kSessionSecretSize, 's');
        // A decoded message's views point into the bytes it was decoded from: keep them.
        const QByteArray ticket = MessageCodec::sessionTicket(id, secret);
        Message m = roundTrip(ticket);
        QCOMPARE(m.type, MessageType::SessionTicket);
        QCOMPARE(m.sessionId.toByteArray(), id);
        QCOMPARE(m.secret.toByteArray(), secret);
        const QByteArray resume = MessageCodec::resume(id, secret, 0x1234567890ULL);
        m = roundTrip(resume);
        QCOMPARE(m.type, MessageType::Resume);
        QCOMPARE(m.sessionId.toByteArray(), id);
        QCOMPARE(m.secret.toByteArray(), secret);
        QCOMPARE(m.offset, 0x1234567890ULL);
        QCOMPARE(roundTrip(MessageCodec::resumed(7)).offset, 7ULL);
        QCOMPARE(roundTrip(MessageCodec::ack(9)).offset, 9ULL);
        m = roundTrip(MessageCodec::resumeFailed(FailureCode::NotAllowed, QStringLiteral("no")));
        QCOMPARE(m.type, MessageType::ResumeFailed);
        QCOMPARE(m.code, FailureCode::NotAllowed);
        QCOMPARE(m.text, QStringLiteral("no"));
        for (const QByteArray &message :
             {ticket, resume, MessageCodec::resumed(1), MessageCodec::ack(1),
              MessageCodec::resumeFailed(FailureCode::NotAllowed, QStringLiteral("r"))}) {
            for (qsizetype length = 1; length < message.size(); ++length)
                QVERIFY(!errorOf(message.left(length)).isEmpty());
            QVERIFY(!errorOf(message + "x").isEmpty());
        }
    }

    // What a resume replays: everything but what belongs to one WebSocket or to resume itself.
    void replayableTypes()
    {
        for (MessageType type :
             {MessageType::Open, MessageType::OpenOk, MessageType::OpenFailed, MessageType::Data,
              MessageType::Credit, MessageType::Fin, MessageType::Reset, MessageType::Listen,
              MessageType::ListenOk, MessageType::ListenFailed, MessageType::Unlisten,
              MessageType::AgentStatus})
            QVERIFY(MessageCodec::isReplayable(type));
        for (MessageType type : {MessageType::Hello, MessageType::Capabilities, MessageType::GoAway,
                                 MessageType::SessionTicket, MessageType::Resume,
                                 MessageType::Resumed, MessageType::ResumeFailed, MessageType::Ack})
            QVERIFY(!MessageCodec::isReplayable(type));
    }

    void agentListRoundTrip()
    {
        const QList<AgentListing> agents{
            {QStringLiteral("devbox"), AgentState::Active, QStringLiteral("10.0.0.5:41712"), 3600},
            {QStringLiteral("devbox"), AgentState::Standby, QStringLiteral("[::1]:5000"), 12},
            {QStringLiteral("ci-runner"), AgentState::Active, QString(), 0},
        };
        const Message m = roundTrip(MessageCodec::agentList(agents, kMax));
        QCOMPARE(m.type, MessageType::AgentList);
        QCOMPARE(m.agents, agents);
        QVERIFY(roundTrip(MessageCodec::agentList({}, kMax)).agents.isEmpty());
    }

    void agentListKeepsToTheMessageSize()
    {
        QList<AgentListing> agents;
        for (int i = 0; i < 1000; ++i)
            agents.append({QStringLiteral("agent-%1").arg(i), AgentState::Active,
                           QStringLiteral("10.0.%1.%2:40000").arg(i / 256).arg(i % 256), 1});
        const QByteArray bytes = MessageCodec::agentList(agents, 16 * 1024);
        QVERIFY(bytes.size() <= 16 * 1024);
        const Message m = roundTrip(bytes);
        QVERIFY(m.agents.size() > 100 && m.agents.size() < agents.size());
        QCOMPARE(m.agents, agents.first(m.agents.size()));
    }

    void malformedAgentList()
    {
        const QList<AgentListing> one{{QStringLiteral("d"), AgentState::Active, {}, 5}};
        QByteArray absent = MessageCodec::agentList(one, kMax);
        absent[3 + 1 + 2] = char(AgentState::Absent);
        QCOMPARE(errorOf(absent),
                 QStringLiteral("agent-list state 0 is neither active nor standby"));
        QCOMPARE(errorOf(MessageCodec::agentList({{QString(), AgentState::Active, {}, 0}}, kMax)),
                 QStringLiteral("agent-list entry without a name"));
        const QByteArray message = MessageCodec::agentList(one, kMax);
        for (qsizetype length = 1; length < message.size(); ++length)
            QVERIFY(!errorOf(message.left(length)).isEmpty());
        QByteArray more = message;
        more[2] = char(2); // a second entry that is not there
        QVERIFY(!errorOf(more).isEmpty());
    }

    void randomInputNeverCrashes()
    {
        // Bounded fuzz: every outcome must be a message or an error, never a crash.
        quint32 state = 12345;
        for (int i = 0; i < 20000; ++i) {
            QByteArray bytes(int(state % 64), Qt::Uninitialized);
            for (char &c : bytes) {
                state = state * 1664525u + 1013904223u;
                c = char(state >> 24);
            }
            if (!bytes.isEmpty())
                bytes[0] = char(1 + state % 13);
            const MessageCodec::DecodeResult result = MessageCodec::decode(bytes, kMax);
            QVERIFY(result.message.has_value() != !result.error.isEmpty());
        }
    }
};

QTEST_APPLESS_MAIN(MessageCodecTest)
#include "tst_messagecodec.moc"

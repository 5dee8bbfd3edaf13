#include "WindowFixture.h"
#include "ui/MappingDialog.h"
#include "ui/RemoteDialog.h"
#include "ui/UiSettings.h"

#include <QAbstractButton>
#include <QDir>
#include <QGroupBox>
#include <QLabel>
#include <QMap>
#include <QScopeGuard>
#include <QToolBar>
#include <QToolButton>
#include <QTranslator>

using namespace wstunnel;

namespace {

// The Alt+letter shortcut in a label's text: the letter after a single '&'.
QChar shortcutLetter(const QString &text)
{
    for (int i = 0; i + 1 < text.size(); ++i) {
        if (text.at(i) != QLatin1Char('&'))
            continue;
        if (text.at(i + 1) != QLatin1Char('&'))
            return text.at(i + 1).toLower();
        ++i;
    }
    return QChar();
}

// Every text with a shortcut in the dialog, by letter.
QMap<QChar, QStringList> shortcutsOf(QWidget *dialog)
{
    QStringList texts;
    for (const QLabel *label : dialog->findChildren<QLabel *>())
        texts.append(label->text());
    for (const QAbstractButton *button : dialog->findChildren<QAbstractButton *>())
        texts.append(button->text());
    for (const QGroupBox *box : dialog->findChildren<QGroupBox *>())
        texts.append(box->title());
    QMap<QChar, QStringList> byLetter;
    for (const QString &text : std::as_const(texts)) {
        const QChar letter = shortcutLetter(text);
        if (!letter.isNull())
            byLetter[letter].append(text);
    }
    return byLetter;
}

} // namespace

// How the window reads: German fits the default size, notices are whole sentences, and no two
// fields of a dialog share an Alt shortcut.
class TestLook : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { isolateGuiTest(); }
    void cleanup() { m_fixture.destroy(); }

    void germanToolBarFitsTheDefaultSize();
    void newerProfileNoticeReadsAsSentences();
    void dialogShortcutsAreUnique_data();
    void dialogShortcutsAreUnique();

private:
    WindowFixture m_fixture;
};

void TestLook::germanToolBarFitsTheDefaultSize()
{
    QTranslator german;
    QVERIFY(german.load(QLocale(QLocale::German, QLocale::Germany), QStringLiteral("wstunnel"),
                        QStringLiteral("_"), QStringLiteral(":/i18n")));
    QVERIFY(QCoreApplication::installTranslator(&german));
    const auto removeTranslator =
        qScopeGuard([&german] { QCoreApplication::removeTranslator(&german); });
    // Without a saved geometry the window opens at its default size.
    UiSettings::setWindowGeometry(QByteArray());
    QVERIFY(m_fixture.create());
    QCOMPARE(m_fixture.window()->size(), QSize(1260, 700));

    auto *toolbar = m_fixture.find<QToolBar>(QStringLiteral("mappingToolBar"));
    QVERIFY(toolbar);
    QTRY_VERIFY(toolbar->isVisible());
    const QList<QAction *> actions = toolbar->actions();
    QVERIFY(actions.size() >= 8);
    for (QAction *action : actions) {
        QWidget *widget = toolbar->widgetForAction(action);
        QVERIFY2(widget && widget->isVisible(), qPrintable(action->text()));
    }
    for (auto *button : toolbar->findChildren<QToolButton *>()) {
        if (button->objectName() == QLatin1String("qt_toolbar_ext_button"))
            QVERIFY2(!button->isVisible(), "tool bar actions in the overflow");
    }
    auto *startAll = m_fixture.find<QAction>(QStringLiteral("startAllAction"));
    QCOMPARE(qobject_cast<QToolButton *>(toolbar->widgetForAction(startAll))->text(),
             QStringLiteral("Alle starten"));
    QCOMPARE(startAll->toolTip(), QStringLiteral("Alle starten"));
}

void TestLook::newerProfileNoticeReadsAsSentences()
{
    QVERIFY(m_fixture.create(R"({"format": "wstunnel-profile", "version": 99})"));
    QVERIFY(m_fixture.controller()->isSavingBlocked());
    auto *banner = m_fixture.find<QWidget>(QStringLiteral("profileBanner"));
    QVERIFY(banner->isVisible());
    QLabel *label = banner->findChild<QLabel *>();
    QVERIFY(label);
    QCOMPARE(label->text(),
             QStringLiteral("%1 is not a usable profile: it was written by a newer WSTunnel "
                            "(profile version 99, this version reads up to 1). Your changes are "
                            "not saved until you decide what to do with that file.")
                 .arg(QDir::toNativeSeparators(m_fixture.controller()->profilePath())));
}

void TestLook::dialogShortcutsAreUnique_data()
{
    QTest::addColumn<QString>("dialog");
    QTest::addColumn<bool>("german");
    for (const bool german : {false, true}) {
        const char *language = german ? "German" : "English";
        QTest::addRow("remote, %s", language) << QStringLiteral("remote") << german;
        QTest::addRow("mapping, %s", language) << QStringLiteral("mapping") << german;
    }
}

void TestLook::dialogShortcutsAreUnique()
{
    QFETCH(QString, dialog);
    QFETCH(bool, german);
    QTranslator translator;
    if (german) {
        QVERIFY(translator.load(QLocale(QLocale::German, QLocale::Germany),
                                QStringLiteral("wstunnel"), QStringLiteral("_"),
                                QStringLiteral(":/i18n")));
        QVERIFY(QCoreApplication::installTranslator(&translator));
    }
    const auto removeTranslator =
        qScopeGuard([&translator] { QCoreApplication::removeTranslator(&translator); });
    QVERIFY(m_fixture.create());
    std::unique_ptr<QWidget> window;
    if (dialog == QLatin1String("remote"))
        window = std::make_unique<RemoteDialog>(RemoteConfig(), QByteArray(), m_fixture.window());
    else
        window = std::make_unique<MappingDialog>(m_fixture.controller()->profile(), MappingConfig(),
                                                 m_fixture.window());
    const QMap<QChar, QStringList> shortcuts = shortcutsOf(window.get());
    QVERIFY(shortcuts.size() >= 3);
    for (auto it = shortcuts.cbegin(); it != shortcuts.cend(); ++it)
        QVERIFY2(it.value().size() == 1,
                 qPrintable(QStringLiteral("Alt+%1: %2")
                                .arg(it.key(), it.value().join(QStringLiteral(" / ")))));
}

QTEST_MAIN(TestLook)
#include "tst_look.moc"

#include "WindowFixture.h"
#include "ui/UiSettings.h"

#include <QDir>
#include <QLabel>
#include <QScopeGuard>
#include <QToolBar>
#include <QToolButton>
#include <QTranslator>

using namespace wstunnel;

// How the window reads: German fits the default size, notices are whole sentences.
class TestLook : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { isolateGuiTest(); }
    void cleanup() { m_fixture.destroy(); }

    void germanToolBarFitsTheDefaultSize();
    void newerProfileNoticeReadsAsSentences();

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

QTEST_MAIN(TestLook)
#include "tst_look.moc"

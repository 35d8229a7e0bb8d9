"""The web UI in a real browser: headless Debian Chromium driven by Playwright.

Front page, search results, the record landing page with its IIIF image preview, login, the
deposit form, and a deposit made through the form the way a user makes it. Every page must load
its stylesheets and scripts without console errors; screenshots go to test-artifacts/.
"""

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from deposit import Api, publish_sheet, sheet_jpeg, wait_for

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium calls Google hosts, which are blocked here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000

SITENAME = "Specimen RDM"  # THEME_SITENAME
FRONTPAGE_TITLE = "Digitised natural-history specimens"  # start of THEME_FRONTPAGE_TITLE
IIIF_PREVIEW_SIZE = 800  # IIIF_SIMPLE_PREVIEWER_SIZE is "!800,800"
USER_EMAIL = "browser-user@example.org"
USER_PASSWORD = "browser-test-password"

# invenio-app-rdm 14's deposit.html puts its community-theme `css` block inside
# `{% if community ... %}`; Jinja defines blocks regardless, so /uploads/new without a community
# links /communities//community-theme-.css, which answers with an HTML page.
KNOWN_CONSOLE_ERRORS = [re.compile(r"/communities/+community-theme-\.css")]


@dataclass
class BrowserLog:
    """What one page reported while a test used it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    responses: list[tuple[int, str, str]] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Console errors (less the known upstream one), uncaught exceptions, failed loads."""
        console = [
            f"console: {text}"
            for text in self.console_errors
            if not any(known.search(text) for known in KNOWN_CONSOLE_ERRORS)
        ]
        server = [f"HTTP {status}: {url}" for status, url, _ in self.responses if status >= 400]
        return console + self.page_errors + self.failed_requests + server

    def ok_responses(self, url_part: str) -> list[tuple[int, str, str]]:
        """The 200 responses whose URL contains `url_part`."""
        return [r for r in self.responses if r[0] == 200 and url_part in r[1]]


# Not named `browser`: pytest-invenio skips (and parametrizes) tests that use a `browser` fixture.
@pytest.fixture(scope="module")
def chromium(live):
    """Headless Chromium, once the front-end assets are built (not mid-rebuild)."""
    manifest = live.var / "instance" / "static" / "dist" / "manifest.json"

    def assets_built():
        try:
            return json.loads(manifest.read_text()).get("status") == "done"
        except (OSError, ValueError):
            return False

    # `invenio webpack build` rewrites the manifest; while it runs every page answers 500.
    wait_for(assets_built, timeout=300, interval=2, what=f"built assets ({manifest})")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    """Console errors, page errors, failed requests and responses of the test's page."""
    return BrowserLog()


@pytest.fixture
def page(chromium, live, browser_log):
    """A fresh browser context (no cookies) and page on the live instance."""
    context = chromium.new_context(base_url=live.url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.on(
        "console",
        lambda message: (
            browser_log.console_errors.append(
                f"{message.text} ({message.location.get('url') or tab.url})"
            )
            if message.type == "error"
            else None
        ),
    )
    tab.on("pageerror", lambda error: browser_log.page_errors.append(f"page: {error}"))
    # A navigation cancels the previous page's pending requests: ERR_ABORTED is no fault.
    tab.on(
        "requestfailed",
        lambda request: (
            browser_log.failed_requests.append(f"failed: {request.url} ({request.failure})")
            if "ERR_ABORTED" not in (request.failure or "")
            else None
        ),
    )
    tab.on(
        "response",
        lambda response: browser_log.responses.append(
            (
                response.status,
                response.url,
                response.headers.get("content-type", ""),
            )
        ),
    )
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="module")
def published(depositor) -> dict:
    """A published record with a real herbarium JPEG, found by search."""
    word = f"sheet{secrets.token_hex(4)}"  # unique, so that reused instances find one hit
    record = publish_sheet(
        depositor,
        f"Holotype of Quercus robur, herbarium {word}",
        {"BM000521755.jpg": sheet_jpeg("BM000521755")},
    )
    record["search_word"] = word

    def indexed():
        response = depositor.get("/api/records", params={"q": word})
        return record["id"] in [hit["id"] for hit in response.json()["hits"]["hits"]]

    wait_for(indexed, what=f"search index to find {record['id']}")
    return record


@pytest.fixture(scope="module")
def user(live) -> tuple[str, str]:
    """E-mail and password of a user who logs in through the login form."""
    live.invenio("specimens", "user", "--email", USER_EMAIL, "--password", USER_PASSWORD)
    return USER_EMAIL, USER_PASSWORD


def screenshot(page: Page, path) -> None:
    """A screenshot of the whole page height (at most the window's width), fonts loaded."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")  # the icon fonts load lazily
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(
        path=path,
        full_page=True,
        clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height},
    )


def visit(page: Page, browser_log: BrowserLog, path: str, screenshot_to=None) -> None:
    """Open a page: it answers 200 and loads its stylesheets, scripts and images cleanly.

    With `screenshot_to`, the screenshot is taken before the checks, to show what went wrong.
    """
    response = page.goto(path)
    assert response.status == 200, f"{path}: HTTP {response.status}"
    if screenshot_to:
        screenshot(page, screenshot_to)
    else:
        page.wait_for_load_state("networkidle")
    assert not browser_log.problems(), browser_log.problems()


def log_in(page: Page, browser_log: BrowserLog, email: str, password: str) -> None:
    """Log in through the invenio-accounts login form."""
    visit(page, browser_log, "/login/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()
    # The user menu in the header shows the e-mail once the session is open.
    expect(page.locator("#invenio-nav")).to_contain_text(email)
    assert "/login" not in page.url


def assert_styled(page: Page) -> None:
    """Every stylesheet the page links is loaded and applied."""
    sheets = page.evaluate(
        """() => Array.from(document.querySelectorAll('link[rel=stylesheet]'))
            .map(link => [link.href, link.sheet ? link.sheet.cssRules.length : -1])"""
    )
    assert sheets, "the page links no stylesheet"
    unloaded = [href for href, rules in sheets if rules <= 0]
    assert not unloaded, f"stylesheets not applied: {unloaded}"


def natural_size(image: Locator) -> tuple[int, int]:
    """Width and height of an <img>'s picture once loaded; 0 x 0 if it could not be loaded."""
    return image.evaluate(
        """img => img.complete ? [img.naturalWidth, img.naturalHeight] : new Promise(done => {
            const size = () => done([img.naturalWidth, img.naturalHeight]);
            img.addEventListener('load', size);
            img.addEventListener('error', size);
        })"""
    )


def assert_image_preview(page: Page, browser_log: BrowserLog, record_id: str, key: str):
    """The landing page's preview iframe shows the JPEG, scaled by the IIIF server."""
    iframe = page.locator("iframe#preview-iframe")
    expect(iframe).to_be_visible()
    assert f"/records/{record_id}/preview/{key}" in iframe.get_attribute("src")
    image = page.frame_locator("#preview-iframe").locator(".iiif-simple-preview img")
    expect(image).to_be_visible()
    iiif_path = f"/api/iiif/record:{record_id}:{key}/full/"
    assert iiif_path in image.get_attribute("src")
    width, height = natural_size(image)
    # Herbarium sheets are portrait; the previewer asks IIIF for at most 800 x 800 pixels.
    assert 0 < width < height <= IIIF_PREVIEW_SIZE, (width, height)
    iiif = browser_log.ok_responses(iiif_path)
    assert iiif, f"no 200 response from {iiif_path}: {browser_log.responses}"
    assert all(content_type == "image/jpeg" for _, _, content_type in iiif), iiif


def test_front_page(page, browser_log, artifacts):
    visit(page, browser_log, "/", screenshot_to=artifacts / "frontpage.png")
    expect(page).to_have_title(SITENAME)
    expect(page.locator("h1")).to_contain_text(FRONTPAGE_TITLE)
    logo = page.get_by_role("img", name=f"{SITENAME} home")
    expect(logo).to_be_visible()
    assert natural_size(logo)[0] > 0, f"the logo {logo.get_attribute('src')} did not load"
    assert_styled(page)
    # React replaces the placeholder of the recent uploads with the list from the REST API.
    # (It renders nothing at all while the instance has no records.)
    expect(page.locator("#records-list .ui.placeholder")).to_have_count(0)
    assert browser_log.ok_responses("/api/records?sort=newest")
    assert not browser_log.problems(), browser_log.problems()


def test_search_page_lists_the_published_record(page, browser_log, published, artifacts):
    title = published["metadata"]["title"]
    visit(page, browser_log, f"/search?q={published['search_word']}", artifacts / "search.png")
    # The result list is rendered by React from /api/records.
    results = page.locator('section[aria-label="Search results"]')
    link = results.locator(f'a[href="/records/{published["id"]}"]')
    expect(link).to_have_text(title)
    expect(results).to_contain_text("Milleville, Kim")
    assert browser_log.ok_responses(f"/api/records?q={published['search_word']}")
    assert_styled(page)
    expect(page.locator("#header-search-bar input.prompt")).to_be_visible()  # React
    assert not browser_log.problems(), browser_log.problems()


def test_landing_page_previews_the_image_through_iiif(page, browser_log, published, artifacts):
    visit(page, browser_log, f"/records/{published['id']}", artifacts / "landing.png")
    expect(page.locator("h1#record-title")).to_have_text(published["metadata"]["title"])
    expect(page).to_have_title(f"{published['metadata']['title']} | {SITENAME}")
    assert_image_preview(page, browser_log, published["id"], "BM000521755.jpg")
    assert_styled(page)
    # Rendered by React from the REST API: the citation box and the versions list.
    doi = published["pids"]["doi"]["identifier"]
    expect(page.locator("#recordCitation")).to_contain_text("Milleville, K. (")
    expect(page.locator("#recordCitation")).to_contain_text(doi)
    expect(page.locator("#recordVersions")).to_contain_text("Version v1")
    assert not browser_log.problems(), browser_log.problems()


def test_landing_page_doi_badge_fits_the_page(page, published):
    doi = published["pids"]["doi"]["identifier"]
    assert page.goto(f"/records/{published['id']}").status == 200
    badge = page.locator("img#record-doi-badge")
    expect(badge).to_have_attribute("src", f"/badge/DOI/{doi}.svg")
    width, height = natural_size(badge)
    # "DOI | 10.xxxxx/specimen-rdm.xxxxx-xxxxx" in 11px DejaVu Sans: about 270 x 20 pixels.
    assert height == 20 and 150 < width < 500, f"DOI badge is {width} x {height} pixels"
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= VIEWPORT["width"], (
        f"the page is {page_width} pixels wide in a {VIEWPORT['width']} pixel window"
    )


def test_login_and_deposit_form(page, browser_log, user, artifacts):
    log_in(page, browser_log, *user)
    visit(page, browser_log, "/uploads/new", screenshot_to=artifacts / "deposit.png")
    expect(page).to_have_title(f"New upload | {SITENAME}")
    expect(page.locator("#metadata\\.title")).to_be_visible()
    expect(page.locator("#metadata\\.publication_date")).to_be_visible()
    expect(page.locator('[name="metadata.resource_type"]')).to_be_visible()
    uploader = page.locator("#files-section .file-upload-area")
    expect(uploader).to_be_visible()
    expect(uploader).to_contain_text("Drag and drop files")
    expect(uploader.get_by_role("button", name="Upload files")).to_be_visible()
    expect(page.locator("#files-section input[type=file]")).to_have_count(1)
    expect(page.get_by_role("button", name="Publish")).to_be_visible()
    assert not browser_log.problems(), browser_log.problems()


def test_deposit_through_the_form(page, browser_log, user, anonymous, artifacts):
    key = "L__0059912.jpg"
    content = sheet_jpeg("L__0059912")
    title = f"Herbarium sheet {key} deposited through the form"
    log_in(page, browser_log, *user)
    visit(page, browser_log, "/uploads/new")

    # Uploading a file saves the draft first, then runs the three-step file upload.
    page.locator("#files-section input[type=file]").set_input_files(
        {"name": key, "mimeType": "image/jpeg", "buffer": content}
    )
    filename_cell = page.locator("#files-section td[data-label=Filename]")
    expect(filename_cell).to_contain_text(key)
    # The checksum appears once the upload is committed.
    md5 = hashlib.md5(content).hexdigest()  # noqa: S324 (InvenioRDM's file checksum)
    expect(filename_cell).to_contain_text(f"md5:{md5}", timeout=60_000)
    expect(page).to_have_url(re.compile(r"/uploads/[a-z0-9]{5}-[a-z0-9]{5}$"))
    record_id = page.url.rsplit("/", 1)[-1]

    page.locator("label", has_text="No, I need one").click()  # a DOI minted on publish
    resource_type = page.locator('[name="metadata.resource_type"]')
    resource_type.click()
    resource_type.locator(".item", has_text="Image / Photo").click()
    expect(resource_type).to_contain_text("Image / Photo")
    page.locator("#metadata\\.title").fill(title)
    page.locator("#metadata\\.publication_date").fill("2025-03-15")

    page.get_by_role("button", name="Add author").click()
    modal = page.locator(".ui.modal")
    modal.locator("#person_or_org\\.family_name").fill("Milleville")
    modal.locator("#person_or_org\\.given_name").fill("Kim")
    modal.get_by_role("button", name="Save", exact=True).click()
    expect(modal).to_have_count(0)
    creators = page.locator(".field", has=page.locator("label[for='metadata.creators']"))
    expect(creators.last).to_contain_text("Milleville, Kim")

    page.get_by_role("button", name="Publish", exact=True).click()
    confirm = page.locator(".ui.modal")
    expect(confirm).to_contain_text("Are you sure you want to publish this record?")
    confirm.locator("button[name=publish]").click()

    page.wait_for_url(f"**/records/{record_id}", timeout=60_000)
    expect(page.locator("h1#record-title")).to_have_text(title)
    expect(page.locator("main")).to_contain_text("Milleville, Kim")
    assert_image_preview(page, browser_log, record_id, key)
    screenshot(page, artifacts / "deposit-published.png")
    assert not browser_log.problems(), browser_log.problems()

    record = anonymous.get(f"/api/records/{record_id}").json()
    assert record["metadata"]["title"] == title
    assert record["metadata"]["resource_type"]["id"] == "image-photo"
    assert record["metadata"]["publication_date"] == "2025-03-15"
    assert record["metadata"]["creators"][0]["person_or_org"]["name"] == "Milleville, Kim"
    assert record["pids"]["doi"]["identifier"]
    files = anonymous.get(f"/api/records/{record_id}/files").json()["entries"]
    assert [(f["key"], f["checksum"]) for f in files] == [(key, f"md5:{md5}")]


@pytest.fixture(scope="module")
def flagged_specimen(depositor) -> dict:
    """A published specimen record whose coordinates raise quality flags."""
    from deposit import darwin_core_record, publish, upload

    catalog_number = f"B-UI-{secrets.token_hex(4)}"
    data = darwin_core_record(
        f"Quercus robur {catalog_number}",
        occurrenceID=f"https://herbarium.bgbm.org/object/{catalog_number}",
        institutionCode="B",
        collectionCode="Herbarium Berolinense",
        catalogNumber=catalog_number,
        basisOfRecord="PreservedSpecimen",
        scientificName="Quercus robur L.",
        typeStatus="Holotype of Quercus robur L.",
        recordedBy="Hein, P.",
        eventDate="1931-06-27/1931-07-02",
        country="Germany",
        countryCode="DE",
        locality="Berlin-Dahlem",
        decimalLatitude=48.8566,  # Paris: outside Germany
        decimalLongitude=2.3522,
    )
    response = depositor.post("/api/records", json=data)
    assert response.status_code == 201, response.text
    draft = response.json()
    # A sheet no other specimen test publishes: the same image twice would be a duplicate.
    upload(depositor, draft["id"], "136319.jpg", sheet_jpeg("136319"))
    return publish(depositor, draft["id"])


def test_specimen_landing_page(page, browser_log, flagged_specimen, artifacts):
    record_id = flagged_specimen["id"]
    visit(page, browser_log, f"/records/{record_id}", artifacts / "specimen-landing.png")
    panel = page.locator("#specimen")
    expect(panel.locator("#specimen-scientific-name")).to_contain_text("Quercus robur L.")
    expect(panel.locator("#specimen-taxonomy")).to_contain_text("Plantae")
    expect(panel.locator("#specimen-taxonomy")).to_contain_text("Fagaceae › Quercus")
    expect(panel.locator("#specimen-type-status")).to_contain_text("Holotype")
    expect(panel.locator("#specimen-collected")).to_contain_text("Hein, P., 1931-06-27/1931-07-02")
    expect(panel.locator("#specimen-locality")).to_contain_text("Berlin-Dahlem, Germany")
    expect(panel.locator("#specimen-coordinates")).to_contain_text("48.85660, 2.35220")
    point = panel.locator("#specimen-map svg circle.specimen-point")
    expect(point).to_have_count(1)
    flags = panel.locator("#specimen-flags")
    expect(flags).to_contain_text("COUNTRY_COORDINATE_MISMATCH")
    expect(flags).to_contain_text("The coordinate lies outside the country the record names.")
    assert_image_preview(page, browser_log, record_id, "136319.jpg")
    assert not browser_log.problems(), browser_log.problems()


def _read_draft(page: Page, record_id: str) -> dict:
    """The draft as the logged-in user's session reads it from the REST API."""
    return page.evaluate(
        """id => fetch(`/api/records/${id}/draft`, {headers: {Accept: 'application/json'}})
            .then(response => response.json())""",
        record_id,
    )


def test_specimen_fields_round_trip_through_the_form(page, browser_log, user, artifacts):
    log_in(page, browser_log, *user)
    visit(page, browser_log, "/uploads/new")
    page.locator("#metadata\\.title").fill("Specimen entered through the form")
    values = {
        "scientificName": "Abies alba Mill.",
        "catalogNumber": f"FORM-{secrets.token_hex(4)}",
        "institutionCode": "B",
        "eventDate": "1931-06-27/1931-07-02",
        "countryCode": "DE",
        "locality": "Berlin-Dahlem",
        "decimalLongitude": "13.3047",
    }
    for term, value in values.items():
        page.locator(f"[id='custom_fields.dwc:{term}']").fill(value)

    # The client-side check mirrors the server's range, and clears once the value is right.
    latitude = page.locator("[id='custom_fields.dwc:decimalLatitude']")
    latitude.fill("95")
    latitude_field = page.locator(".field", has=latitude)
    expect(latitude_field.locator(".specimen-check")).to_have_text("Enter a number from -90 to 90.")
    latitude.fill("52.4555")
    expect(latitude_field.locator(".specimen-check")).to_have_count(0)
    event_date = page.locator("[id='custom_fields.dwc:eventDate']")
    event_date.fill("27.06.1931")
    expect(page.locator(".field", has=event_date).locator(".specimen-check")).to_contain_text(
        "ISO 8601"
    )
    event_date.fill(values["eventDate"])

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/uploads/[a-z0-9]{5}-[a-z0-9]{5}$"), timeout=60_000)
    record_id = page.url.rsplit("/", 1)[-1]
    fields = wait_for(
        lambda: (
            _read_draft(page, record_id).get("custom_fields", {}).get("specimen:quality")
            and _read_draft(page, record_id)["custom_fields"]
        ),
        what="the saved draft's specimen fields",
    )
    assert fields["dwc:scientificName"] == values["scientificName"]
    assert fields["dwc:decimalLatitude"] == 52.4555
    assert fields["dwc:eventDate"] == values["eventDate"]
    assert fields["specimen:quality"]["interpreted"]["taxon"]["family"] == "Pinaceae"

    # Reopened, the form shows what was saved.
    visit(page, browser_log, f"/uploads/{record_id}", artifacts / "specimen-form.png")
    for term, value in values.items():
        expect(page.locator(f"[id='custom_fields.dwc:{term}']")).to_have_value(value)
    expect(latitude).to_have_value("52.4555")

    # A date the client-side pattern lets through but the calendar does not: the server's 400
    # appears at the field, naming the reason.
    event_date.fill("2021-02-29")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".field", has=event_date)).to_contain_text("has no day 29")
    assert _read_draft(page, record_id)["custom_fields"]["dwc:eventDate"] == values["eventDate"]


def test_annotation_viewer_draws_overlays_and_curators_review(
    page, browser_log, live, user, anonymous, artifacts
):
    email, password = user
    owner = Api(live.url, live.token(email))
    record = publish_sheet(
        owner, f"Annotated sheet {secrets.token_hex(4)}", {"sheet.jpg": sheet_jpeg("BM000521755")}
    )
    target = {"record": record["id"], "file": "sheet.jpg"}
    shapes = [
        {"type": "box", "box": [20, 40, 200, 60]},
        {"type": "polygon", "polygon": [[300, 400, 450, 420, 380, 560]]},
    ]
    ids = []
    for selector, category in zip(shapes, ("ruler", "label"), strict=True):
        response = owner.post(
            "/api/annotations",
            json={"target": {**target, "selector": selector}, "body": {"category": category}},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    wait_for(
        lambda: (
            len(anonymous.get(f"/api/annotations/pages/{record['id']}/sheet.jpg").json()["items"])
            == 2
        ),
        what="both annotations on the image's page",
    )

    visit(page, browser_log, f"/records/{record['id']}")
    viewer = page.locator("#annotation-viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator(".annotation-overlay g.region")).to_have_count(2)
    expect(viewer.locator(".annotation-overlay rect")).to_have_count(1)
    expect(viewer.locator(".annotation-overlay path")).to_have_count(1)
    expect(viewer.locator(".annotation-list li")).to_have_count(2)
    expect(viewer.locator(".annotation-list button")).to_have_count(0)  # anonymous: no review

    log_in(page, browser_log, email, password)
    visit(page, browser_log, f"/records/{record['id']}")
    entry = viewer.locator(f'.annotation-list li[data-annotation="{ids[0]}"]')
    expect(entry).to_contain_text("ruler")
    expect(entry).to_contain_text("accepted")
    entry.get_by_role("button", name="Reject").click()
    expect(viewer.locator(".annotation-message")).to_contain_text("rejected")
    expect(viewer.locator(f'.annotation-list li[data-annotation="{ids[0]}"]')).to_contain_text(
        "rejected"
    )
    screenshot(page, artifacts / "annotation-viewer.png")
    assert owner.get(f"/api/annotations/{ids[0]}").json()["status"]["state"] == "rejected"


@pytest.fixture(scope="module")
def embedded(live, depositor, admin) -> dict:
    """Two sheets published with the built-in image-features pipeline registered (for them
    only), once both have their embedding: `{sheet name: record}`."""
    tag = f"byimage{secrets.token_hex(4)}"
    live.pipelines_file.write_text(
        json.dumps(
            {
                "pipelines": {
                    "image-features": {
                        "model": {"builtin": "efficientnet-lite0-features"},
                        "applies_to": {"query": f'metadata.title:"{tag}"'},
                        "writes": "embeddings",
                    }
                }
            }
        )
    )
    records = {
        name: publish_sheet(depositor, f"Sheet {tag} {name}", {f"{name}.jpg": sheet_jpeg(name)})
        for name in ("12406", "L__0059912")
    }
    for record in records.values():
        wait_for(
            lambda record=record: (
                admin.get("/api/similar", params={"record": record["id"]}).status_code == 200
            ),
            timeout=300,
            what=f"the embedding of {record['id']}",
        )
    yield records
    live.pipelines_file.unlink(missing_ok=True)


def test_search_by_image_from_the_menu(page, browser_log, embedded, artifacts, tmp_path):
    visit(page, browser_log, "/")
    page.get_by_role("link", name="Search by image").first.click()
    expect(page.locator("#search-by-image h1")).to_have_text("Search by image")
    upload = tmp_path / "L__0059912.jpg"
    upload.write_bytes(sheet_jpeg("L__0059912"))
    page.set_input_files("#search-image", str(upload))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#search-by-image button[type=submit]").click()
    assert answer.value.status == 200
    expect(page.locator("#search-by-image-summary")).to_contain_text("L__0059912.jpg")
    cards = page.locator("#search-by-image a.similar-record")
    # The record holding the very same image is listed with cosine similarity 1.00, and nothing
    # ranks above it (a kept test instance may hold the same image from an earlier run).
    same = page.locator(f'#search-by-image a[data-record="{embedded["L__0059912"]["id"]}"]')
    expect(same.locator(".meta")).to_have_text("1.00")
    expect(cards.first.locator(".meta")).to_have_text("1.00")
    other = page.locator(f'#search-by-image a[data-record="{embedded["12406"]["id"]}"]')
    expect(other.locator(".meta")).not_to_have_text("1.00")
    expect(cards.first.locator("img")).to_have_attribute("src", re.compile(r"^/api/iiif/record:"))
    screenshot(page, artifacts / "search-by-image.png")
    assert natural_size(cards.first.locator("img"))[0] > 0
    assert not browser_log.problems(), browser_log.problems()

    broken = tmp_path / "not-an-image.jpg"
    broken.write_bytes(b"these bytes are not a JPEG")
    page.set_input_files("#search-image", str(broken))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#search-by-image button[type=submit]").click()
    assert answer.value.status == 400
    expect(page.locator("#search-by-image-error")).to_contain_text("file:")
    expect(page.locator("#search-by-image a.similar-record")).to_have_count(0)

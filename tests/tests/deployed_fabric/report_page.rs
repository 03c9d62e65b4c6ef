//! The run's page as people open it: published beside the JSON report by the deployed fabric,
//! named in the summary, and opened in a real browser (headless Chromium), whose rendered matrix
//! must hold one cell per location with the status the stored report gives it.

use super::*;
use fabric::ports::ReportStore;
use fabric_tests::browser;
use std::collections::BTreeMap;

/// The value of attribute `name` in `tag` (the text of one start tag), if it has one.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[start..].split('"').next()
}

/// The matrix's cells in a rendered DOM: (account, Region) -> (status, whether its script made
/// it focusable).
fn rendered_cells(dom: &str) -> BTreeMap<(String, String), Vec<(String, bool)>> {
    let mut cells: BTreeMap<(String, String), Vec<(String, bool)>> = BTreeMap::new();
    for row in dom.split("<tr ").skip(1) {
        let row_tag = format!(" {}", row.split('>').next().unwrap_or_default());
        let Some(account) = attribute(&row_tag, "data-account").map(str::to_owned) else {
            continue;
        };
        let row = row.split("</tr>").next().unwrap_or_default();
        for cell in row.split("<td ").skip(1) {
            let tag = format!(" {}", cell.split('>').next().unwrap_or_default());
            if !attribute(&tag, "class").is_some_and(|class| class.split(' ').any(|c| c == "cell"))
            {
                continue;
            }
            let region = attribute(&tag, "data-region")
                .unwrap_or_default()
                .to_owned();
            let status = attribute(&tag, "data-status")
                .unwrap_or_default()
                .to_owned();
            let focusable = attribute(&tag, "tabindex") == Some("0");
            cells
                .entry((account.clone(), region))
                .or_default()
                .push((status, focusable));
        }
    }
    cells
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_runs_page_is_opened_in_a_browser_then_it_shows_one_cell_per_location_with_its_status()
 {
    let (deployed, view) = Box::pin(patch_window_run(6)).await;
    let run_id = run_id(&view);
    let state = RunState::load(&deployed.world.runs.store, &run_id)
        .await
        .expect("the run state is kept");
    let index_key = state.report_key.clone().expect("the report's key is kept");
    let (_, results) = fabric::stored_run::read_run(&deployed.world.runs.store, &index_key)
        .await
        .expect("the stored report reads back")
        .expect("the report is there");
    let page_key = index_key.replace(".json", ".html");
    let page = deployed
        .world
        .runs
        .store
        .get(&page_key)
        .await
        .expect("the store answers")
        .expect("the page is stored beside the report");
    let published = deployed.published().await;
    assert!(
        published
            .iter()
            .any(|(_, message)| message.contains(&run_id) && message.contains(&page_key)),
        "the summary names the page: {published:?}"
    );

    let artifacts = browser::artifacts();
    let file = artifacts.join("run-report.html");
    std::fs::write(&file, page).expect("the page is written");
    let dom = browser::rendered_dom(&file);
    let cells = rendered_cells(&dom);
    assert_eq!(
        cells.values().map(Vec::len).sum::<usize>(),
        results.len(),
        "one cell per location"
    );
    for result in &results {
        let key = (
            result.location.account_id.to_string(),
            result.location.region.to_string(),
        );
        let found = cells
            .get(&key)
            .unwrap_or_else(|| panic!("{} has a cell", result.location));
        assert_eq!(found.len(), 1, "{} has one cell", result.location);
        assert_eq!(
            found[0].0,
            fabric::model::status_name(&result.status),
            "{}",
            result.location
        );
        assert!(
            found[0].1,
            "the page's script ran: the cell of {} can be focused",
            result.location
        );
    }
    assert!(
        results
            .iter()
            .any(|result| fabric::model::status_name(&result.status) != "Success"),
        "the run has locations that did not succeed, so statuses are told apart"
    );
    browser::screenshot(&file, &artifacts.join("run-report.png"), 1000, 1000);
}

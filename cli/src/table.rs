//! Aligned text tables for the CLI's listings.

/// Rows under a header, columns aligned.
pub fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut all: Vec<Vec<String>> = vec![header.iter().map(|cell| (*cell).to_owned()).collect()];
    all.extend(rows);
    let widths: Vec<usize> = (0..header.len())
        .map(|column| all.iter().map(|row| row.get(column).map_or(0, |cell| cell.chars().count())).max().unwrap_or(0))
        .collect();
    all.iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

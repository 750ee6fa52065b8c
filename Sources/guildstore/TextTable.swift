/// A plain-text table: the first row is the header, each column padded to its widest cell
/// (by Characters: NSString's padding counts UTF-16 units and would cut an emoji), columns two
/// spaces apart, no trailing spaces.
func textTable(_ rows: [[String]]) -> String {
    var widths: [Int] = []
    for row in rows {
        for (i, cell) in row.enumerated() {
            if i < widths.count { widths[i] = max(widths[i], cell.count) } else { widths.append(cell.count) }
        }
    }
    return rows.map { row in
        let line = row.enumerated().map { i, cell in cell + String(repeating: " ", count: max(0, widths[i] - cell.count)) }
            .joined(separator: "  ")
        return String(line.reversed().drop { $0 == " " }.reversed())
    }.joined(separator: "\n")
}

using System.Text;

namespace PgArchive.Cli;

/// <summary>Columns padded with spaces (WAL-G's plain listing), or boxed with --pretty.</summary>
internal static class TextTable
{
    public static string Render(IReadOnlyList<string> headers, IReadOnlyList<string[]> rows, bool pretty)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        if (pretty)
        {
            var rule = "+" + string.Join("+", widths.Select(w => new string('-', w + 2))) + "+\n";
            text.Append(rule);
            AppendRow(text, headers, widths, "| ", " | ", " |");
            text.Append(rule);
            foreach (var row in rows)
            {
                AppendRow(text, row, widths, "| ", " | ", " |");
            }

            text.Append(rule);
            return text.ToString();
        }

        AppendRow(text, headers, widths, "", " ", "");
        foreach (var row in rows)
        {
            AppendRow(text, row, widths, "", " ", "");
        }

        return text.ToString();
    }

    private static void AppendRow(StringBuilder text, IReadOnlyList<string> cells, int[] widths, string start, string separator, string end)
    {
        text.Append(start);
        for (var i = 0; i < cells.Count; i++)
        {
            text.Append(i == cells.Count - 1 && end.Length == 0 ? cells[i] : cells[i].PadRight(widths[i]));
            if (i < cells.Count - 1)
            {
                text.Append(separator);
            }
        }

        text.Append(end).Append('\n');
    }
}

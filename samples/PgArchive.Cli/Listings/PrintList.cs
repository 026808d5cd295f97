namespace PgArchive.Cli.Listings;

/// <summary>One column of a listing row: WAL-G's <c>printlist.TableField</c>.</summary>
/// <param name="Name">The plain table's header (<c>backup_name</c>).</param>
/// <param name="PrettyName">The <c>--pretty</c> table's header before go-pretty upper-cases it (<c>Backup name</c>).</param>
/// <param name="Value">The plain table's cell.</param>
/// <param name="PrettyValue">The <c>--pretty</c> table's cell when it differs (times), else null.</param>
internal sealed record TableField(string Name, string PrettyName, string Value, string? PrettyValue = null);

/// <summary>Something WAL-G lists: the fields of its tables and, separately, every JSON field of its Go struct.</summary>
internal interface IListEntity
{
    /// <summary>The table columns, in order (WAL-G's <c>PrintableFields</c>).</summary>
    IReadOnlyList<TableField> PrintableFields();

    /// <summary>The entity as Go's encoding/json writes its struct: all fields the json tags do not hide, not only the printable ones.</summary>
    void WriteJson(GoJsonWriter writer);
}

/// <summary>
/// WAL-G's <c>printlist.List</c> (<c>internal/printlist/entities.go</c>): JSON when asked (an array, compact or indented
/// with <c>--pretty</c>; <c>[]</c> when empty), else with <c>--pretty</c> a go-pretty table with a <c>#</c> column
/// numbering the rows from 0, else a tabwriter table of the field names and values. Neither table prints anything
/// when there is nothing to list, not even a header.
/// </summary>
internal static class PrintList
{
    public static string Render(IReadOnlyList<IListEntity> entities, bool pretty, bool json)
    {
        ArgumentNullException.ThrowIfNull(entities);
        if (json)
        {
            var writer = new GoJsonWriter(indented: pretty);
            writer.StartArray();
            foreach (var entity in entities)
            {
                entity.WriteJson(writer);
            }

            writer.EndArray();
            return writer.ToString();
        }

        if (entities.Count == 0)
        {
            return "";
        }

        var header = entities[0].PrintableFields();
        if (pretty)
        {
            var rows = entities.Select((entity, index) =>
                (IReadOnlyList<object>)[index, .. entity.PrintableFields().Select(f => f.PrettyValue ?? f.Value)]).ToList();
            return GoPrettyTable.Render(["#", .. header.Select(f => f.PrettyName)], rows);
        }

        var text = new System.Text.StringBuilder();
        text.Append(string.Join('\t', header.Select(f => f.Name))).Append('\n');
        foreach (var entity in entities)
        {
            text.Append(string.Join('\t', entity.PrintableFields().Select(f => f.Value))).Append('\n');
        }

        return GoTabWriter.Format(text.ToString());
    }
}

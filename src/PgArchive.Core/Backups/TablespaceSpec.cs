using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgArchive.Backups;

/// <summary>
/// The tablespaces of a backup, as WAL-G writes the sentinel's <c>Spec</c>:
/// <c>{"base_prefix": "/pgdata", "tablespaces": ["16390"], "16390": {"loc": "/ts/", "link": "pg_tblspc/16390"}}</c>.
/// </summary>
[JsonConverter(typeof(TablespaceSpecJsonConverter))]
public sealed class TablespaceSpec
{
    /// <summary>The data directory the backup was taken from.</summary>
    public string BasePrefix { get; set; } = "";

    /// <summary>Tablespace OID (as text) → where it was and its link under the data directory.</summary>
    public Dictionary<string, TablespaceLocation> Tablespaces { get; } = new(StringComparer.Ordinal);
}

/// <summary>Where a tablespace lived when it was backed up.</summary>
/// <param name="Location">The directory the symbolic link pointed to, with a trailing '/'.</param>
/// <param name="Link">The link, relative to the data directory: <c>pg_tblspc/&lt;oid&gt;</c>.</param>
public sealed record TablespaceLocation(string Location, string Link);

/// <summary>Reads and writes <see cref="TablespaceSpec"/> in WAL-G's shape, whose keys are OIDs.</summary>
internal sealed class TablespaceSpecJsonConverter : JsonConverter<TablespaceSpec>
{
    public override TablespaceSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        var spec = new TablespaceSpec();
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("Spec must be a JSON object.");
        }

        if (root.TryGetProperty("base_prefix", out var prefix) && prefix.ValueKind == JsonValueKind.String)
        {
            spec.BasePrefix = prefix.GetString()!;
        }

        if (root.TryGetProperty("tablespaces", out var names) && names.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in names.EnumerateArray())
            {
                var oid = name.ValueKind == JsonValueKind.String ? name.GetString()! : throw new JsonException($"Spec.tablespaces holds a {name.ValueKind}, not a string.");
                if (!root.TryGetProperty(oid, out var location))
                {
                    throw new JsonException($"Spec names tablespace {oid} but has no entry for it.");
                }

                spec.Tablespaces[oid] = location.ValueKind == JsonValueKind.Object
                    ? new TablespaceLocation(RequiredString(location, oid, "loc"), RequiredString(location, oid, "link"))
                    : throw new JsonException($"Spec.{oid} is not an object with loc and link.");
            }
        }

        return spec;
    }

    private static string RequiredString(JsonElement location, string oid, string field) =>
        location.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new JsonException($"Spec.{oid}.{field} is missing or not a string.");

    public override void Write(Utf8JsonWriter writer, TablespaceSpec value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("base_prefix", value.BasePrefix);
        writer.WriteStartArray("tablespaces");
        foreach (var oid in value.Tablespaces.Keys)
        {
            writer.WriteStringValue(oid);
        }

        writer.WriteEndArray();
        foreach (var (oid, location) in value.Tablespaces)
        {
            writer.WriteStartObject(oid);
            writer.WriteString("loc", location.Location);
            writer.WriteString("link", location.Link);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}

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

    /// <summary>
    /// Checks what a restore takes from the Spec: every tablespace id is an OID (decimal, 1 to 4294967295, no sign,
    /// spaces or leading zeros), every link is exactly <c>pg_tblspc/&lt;oid&gt;</c> and every location an absolute,
    /// normalised directory (no <c>.</c>, <c>..</c> or empty segment; a trailing '/' is allowed). The sentinel is plain
    /// JSON that anyone who can write the bucket can change, so a restore refuses a Spec that fails this rather than
    /// write where it says.
    /// </summary>
    /// <param name="source">Where the Spec was read (the sentinel's key), named in the message.</param>
    /// <exception cref="PgArchiveException">The Spec fails a check; the message names <paramref name="source"/> and the field.</exception>
    public void Validate(string source)
    {
        foreach (var (oid, location) in Tablespaces)
        {
            if (!IsOid(oid))
            {
                throw Refused(source, "Spec.tablespaces", $"holds '{oid}', which is not a tablespace OID (a decimal number from 1 to 4294967295)");
            }

            if (!string.Equals(location.Link, "pg_tblspc/" + oid, StringComparison.Ordinal))
            {
                throw Refused(source, $"Spec.{oid}.link", $"is '{location.Link}'; a tablespace's link can only be 'pg_tblspc/{oid}'");
            }

            if (NormalisedDirectory(location.Location) is null)
            {
                throw Refused(source, $"Spec.{oid}.loc", $"is '{location.Location}', which is not an absolute, normalised directory path");
            }
        }
    }

    /// <summary>True when <paramref name="text"/> is an OID as PostgreSQL prints it: 1 to 4294967295 in plain decimal.</summary>
    internal static bool IsOid(string text) =>
        text.Length is > 0 and <= 10 && text[0] != '0' && text.All(char.IsAsciiDigit)
        && uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);

    /// <summary>
    /// <paramref name="path"/> without its trailing '/' when it is an absolute, normalised path other than the root
    /// (no <c>.</c>, <c>..</c> or empty segment, no NUL); otherwise null.
    /// </summary>
    internal static string? NormalisedDirectory(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0', StringComparison.Ordinal) || !Path.IsPathFullyQualified(path))
        {
            return null;
        }

        var trimmed = Path.TrimEndingDirectorySeparator(path);
        return trimmed.Length > 1 && !Path.EndsInDirectorySeparator(trimmed) && string.Equals(Path.GetFullPath(trimmed), trimmed, StringComparison.Ordinal) ? trimmed : null;
    }

    private static PgArchiveException Refused(string source, string field, string problem) =>
        new($"Refusing to restore: in '{source}', {field} {problem}.");
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

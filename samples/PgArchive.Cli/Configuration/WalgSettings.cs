using System.Globalization;
using System.Text.Json;

namespace PgArchive.Cli.Configuration;

/// <summary>
/// WAL-G's settings, flat and named as WAL-G names them (<c>WALG_FILE_PREFIX</c>, <c>AWS_REGION</c>, ...),
/// from three sources, later ones winning: a WAL-G-style JSON config file (<c>--config</c>, else
/// <c>WALG_CONFIG_PATH</c>, else <c>~/.walg.json</c> when present), the process environment, and a
/// WAL-E-style envdir (<c>--envdir DIR</c>: one file per variable, its content the value).
/// </summary>
internal sealed class WalgSettings
{
    /// <summary>The prefixes of variables that configure storage, compression, encryption and authentication: what a restore_command needs.</summary>
    private static readonly string[] ArchivePrefixes = ["WALG_", "WALE_", "AWS_", "S3_", "AZURE_", "GOOGLE_", "GCS_", "STORAGE_EMULATOR_HOST", "OS_", "SWIFT_", "PGARCHIVE_AUTH", "PGARCHIVE_FAILOVER"];

    private readonly Dictionary<string, string> _values;

    private WalgSettings(Dictionary<string, string> values) => _values = values;

    /// <summary>Settings from explicit values, for tests and embedding.</summary>
    public static WalgSettings FromValues(IReadOnlyDictionary<string, string> values) => new(new Dictionary<string, string>(values, StringComparer.Ordinal));

    /// <summary>Loads the settings from the config file, the environment and the envdir.</summary>
    public static WalgSettings Load(string? configFile, string? envDirectory)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var environment = Environment.GetEnvironmentVariables();
        var file = configFile
            ?? (environment["WALG_CONFIG_PATH"] as string is { Length: > 0 } configured ? configured : null)
            ?? DefaultConfigFile();
        if (file is not null)
        {
            ReadConfigFile(file, values);
        }

        foreach (System.Collections.DictionaryEntry entry in environment)
        {
            values[(string)entry.Key] = (string?)entry.Value ?? "";
        }

        if (envDirectory is not null)
        {
            ReadEnvDirectory(envDirectory, values);
        }

        return new WalgSettings(values);
    }

    /// <summary>These settings with <paramref name="name"/> set to <paramref name="value"/> (a flag that wins over every source).</summary>
    public WalgSettings With(string name, string value) => new(new Dictionary<string, string>(_values, StringComparer.Ordinal) { [name] = value });

    /// <summary>The value of <paramref name="name"/>, or null when unset or empty.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

    /// <summary>The first of <paramref name="names"/> that is set.</summary>
    public string? GetFirst(params string[] names) => names.Select(Get).FirstOrDefault(v => v is not null);

    /// <summary>A byte count or other integer; the message names the variable when it is not one.</summary>
    public long? GetInt64(string name)
    {
        var text = Get(name);
        if (text is null)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new PgArchiveConfigurationException($"{name} must be an integer, not '{text}'.");
    }

    /// <summary>A boolean in WAL-G's spellings (true/false, 1/0, yes/no, on/off).</summary>
    public bool? GetBoolean(string name)
    {
        var text = Get(name);
        return text?.ToUpperInvariant() switch
        {
            null => null,
            "TRUE" or "1" or "YES" or "ON" => true,
            "FALSE" or "0" or "NO" or "OFF" => false,
            _ => throw new PgArchiveConfigurationException($"{name} must be true or false, not '{text}'."),
        };
    }

    /// <summary>The settings a restore_command needs to reach the same archive: storage, compression, encryption and authentication variables.</summary>
    public SortedDictionary<string, string> ArchiveSettings()
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in _values)
        {
            if (value.Length > 0 && ArchivePrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)) && name != "WALG_CONFIG_PATH")
            {
                result[name] = value;
            }
        }

        return result;
    }

    /// <summary>
    /// Exports <paramref name="names"/> to the process environment where the config file or envdir set them, for the
    /// libraries that read only the environment (SDK credential chains, Npgsql), as WAL-G exports its configuration.
    /// </summary>
    public void ExportToEnvironment(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            if (Get(name) is { } value && Environment.GetEnvironmentVariable(name) != value)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    /// <summary>
    /// Exports libpq's variables (every <c>PG*</c> name but PgArchive's own <c>PGARCHIVE_*</c>: <c>PGHOST</c>, <c>PGPORT</c>,
    /// <c>PGUSER</c>, <c>PGDATABASE</c>, <c>PGPASSWORD</c>, <c>PGPASSFILE</c>, <c>PGSSLMODE</c>, <c>PGSSLCERT</c>, ...) from
    /// the config file and envdir to the process environment, where every PostgreSQL connection reads them (ours and
    /// Npgsql's own look-ups), as WAL-G exports its configuration before pgx reads the environment. A variable these
    /// settings leave unset (an envdir's empty file, as daemontools' envdir) is removed from the environment. Nothing is
    /// logged: PGPASSWORD is among them.
    /// </summary>
    public void ExportLibpqEnvironment()
    {
        var names = _values.Keys.Concat(Environment.GetEnvironmentVariables().Keys.Cast<string>())
            .Where(name => name.StartsWith("PG", StringComparison.Ordinal) && !name.StartsWith("PGARCHIVE_", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var name in names.Where(name => Get(name) is null))
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        ExportToEnvironment(names);
    }

    private static string? DefaultConfigFile()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var path = home.Length == 0 ? null : Path.Combine(home, ".walg.json");
        return path is not null && File.Exists(path) ? path : null;
    }

    private static void ReadConfigFile(string path, Dictionary<string, string> values)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PgArchiveConfigurationException($"Cannot read config file '{path}': {ex.Message}", ex);
        }

        try
        {
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new PgArchiveConfigurationException($"Config file '{path}' must hold one JSON object of settings, e.g. {{\"WALG_FILE_PREFIX\": \"/backups\"}}.");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                values[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                    // WAL-G's one nested setting: the failover storages, name → settings (FailoverSettings parses it).
                    JsonValueKind.Object when property.Name == FailoverSettings.Variable => property.Value.GetRawText(),
                    _ => throw new PgArchiveConfigurationException($"Config file '{path}': setting {property.Name} must be a string, number or boolean."),
                };
            }
        }
        catch (JsonException ex)
        {
            throw new PgArchiveConfigurationException($"Config file '{path}' is not valid JSON (line {ex.LineNumber + 1}): fix or remove it.", ex);
        }
    }

    private static void ReadEnvDirectory(string directory, Dictionary<string, string> values)
    {
        if (!Directory.Exists(directory))
        {
            throw new PgArchiveConfigurationException($"--envdir '{directory}' is not a directory.");
        }

        foreach (var file in Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith('.') || name.Contains('='))
            {
                continue;
            }

            // daemontools' envdir: the first line, trailing spaces and tabs removed, NULs read as newlines; an empty file unsets.
            var text = File.ReadAllText(file);
            var firstLine = text.Split('\n')[0].TrimEnd(' ', '\t').Replace('\0', '\n');
            if (firstLine.Length == 0)
            {
                values.Remove(name);
            }
            else
            {
                values[name] = firstLine;
            }
        }
    }
}

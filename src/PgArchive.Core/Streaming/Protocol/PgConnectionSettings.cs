using System.Globalization;
using Npgsql;
using PgArchive.Postgres;

namespace PgArchive.Streaming.Protocol;

/// <summary>
/// Where and how <see cref="PgWireConnection"/> connects: a libpq-style connection string (Npgsql's keywords) completed
/// from libpq's environment (<c>PGHOST</c>, <c>PGPORT</c>, <c>PGUSER</c>, <c>PGPASSWORD</c>, <c>PGPASSFILE</c>,
/// <c>PGSSLMODE</c>, <c>PGSSLROOTCERT</c>, ...), as psql and pg_receivewal read them.
/// </summary>
internal sealed class PgConnectionSettings
{
    public required IReadOnlyList<string> Hosts { get; init; }

    public required int Port { get; init; }

    public required string User { get; init; }

    public required string Database { get; init; }

    public string? Password { get; init; }

    public string? PassFile { get; init; }

    public SslMode SslMode { get; init; } = SslMode.Prefer;

    public string? RootCertificate { get; init; }

    public string? ClientCertificate { get; init; }

    public string? ClientKey { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public string ApplicationName { get; init; } = "pgarchive";

    /// <summary>Reads <paramref name="connectionString"/>, completing it from the environment (<paramref name="environment"/>, default the process's).</summary>
    public static PgConnectionSettings From(string connectionString, string applicationName, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = LibpqEnvironment.Complete(connectionString ?? "", environment);
        }
        catch (ArgumentException ex)
        {
            throw new PgArchiveConfigurationException($"The connection string is not valid: {ex.Message}", ex);
        }

        var hosts = (builder.Host ?? "localhost").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new PgConnectionSettings
        {
            Hosts = hosts,
            Port = builder.Port,
            User = builder.Username!,
            Database = builder.Database!,
            Password = builder.Password ?? NonEmpty(environment("PGPASSWORD")),
            PassFile = builder.Passfile ?? NonEmpty(environment("PGPASSFILE")),
            SslMode = builder.SslMode,
            RootCertificate = builder.RootCertificate ?? NonEmpty(environment("PGSSLROOTCERT")),
            ClientCertificate = builder.SslCertificate ?? NonEmpty(environment("PGSSLCERT")),
            ClientKey = builder.SslKey ?? NonEmpty(environment("PGSSLKEY")),
            ConnectTimeout = TimeSpan.FromSeconds(builder.Timeout > 0 ? builder.Timeout : 15),
            ApplicationName = string.IsNullOrEmpty(builder.ApplicationName) ? applicationName : builder.ApplicationName,
        };
    }

    /// <summary><c>host:port</c> (or the socket directory) and the user, for messages; never the password.</summary>
    public string Describe(string host) => string.Create(CultureInfo.InvariantCulture, $"{host}:{Port} as user '{User}'");

    /// <summary>
    /// The password for <paramref name="host"/>: the connection string's or PGPASSWORD, else the first matching line of
    /// the password file (PGPASSFILE, default ~/.pgpass; <c>hostname:port:database:username:password</c>, <c>*</c> matches
    /// anything, <c>\</c> escapes), as libpq looks it up.
    /// </summary>
    public string? PasswordFor(string host)
    {
        if (Password is not null)
        {
            return Password;
        }

        var file = PassFile ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pgpass");
        if (!File.Exists(file))
        {
            return null;
        }

        var lookupHost = host.StartsWith('/') ? "localhost" : host;
        foreach (var line in File.ReadLines(file))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = SplitPassLine(line);
            if (fields.Count == 5 && Matches(fields[0], lookupHost) && Matches(fields[1], Port.ToString(CultureInfo.InvariantCulture))
                && Matches(fields[2], Database) && Matches(fields[3], User))
            {
                return fields[4];
            }
        }

        return null;

        static bool Matches(string pattern, string value) => pattern == "*" || pattern == value;
    }

    private static List<string> SplitPassLine(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && i + 1 < line.Length)
            {
                current.Append(line[++i]);
            }
            else if (c == ':' && fields.Count < 4)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

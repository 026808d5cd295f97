using Npgsql;

namespace PgArchive.Postgres;

/// <summary>
/// Completes a connection string from libpq's environment variables, as psql and pg_basebackup would:
/// PGHOST (a host name or a socket directory), PGPORT, PGUSER, PGDATABASE, PGSSLMODE; PGPASSWORD and
/// PGPASSFILE are read by Npgsql itself. Settings already in the connection string win.
/// </summary>
internal static class LibpqEnvironment
{
    public static NpgsqlConnectionStringBuilder Complete(string connectionString, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.Host))
        {
            builder.Host = NonEmpty(environment("PGHOST")) ?? (Directory.Exists("/var/run/postgresql") ? "/var/run/postgresql" : "localhost");
        }

        if (!connectionString.Contains("port", StringComparison.OrdinalIgnoreCase) && int.TryParse(NonEmpty(environment("PGPORT")), out var port))
        {
            builder.Port = port;
        }

        if (string.IsNullOrEmpty(builder.Username))
        {
            builder.Username = NonEmpty(environment("PGUSER")) ?? Environment.UserName;
        }

        if (string.IsNullOrEmpty(builder.Database))
        {
            builder.Database = NonEmpty(environment("PGDATABASE")) ?? builder.Username;
        }

        if (!connectionString.Contains("ssl", StringComparison.OrdinalIgnoreCase) && NonEmpty(environment("PGSSLMODE")) is { } sslMode &&
            Enum.TryParse<SslMode>(sslMode.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode))
        {
            builder.SslMode = mode;
        }

        return builder;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

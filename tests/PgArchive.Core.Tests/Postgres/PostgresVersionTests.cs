namespace PgArchive.Postgres;

public sealed class PostgresVersionTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pgarchive-version-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("10\n", 100000)]
    [InlineData("18", 180000)]
    [InlineData("9.6\n", 90600)]
    [InlineData("", null)]
    [InlineData("fifteen", null)]
    [InlineData("1.2.3", null)]
    public void Data_directory_version_is_read_from_PG_VERSION(string content, int? expected)
    {
        File.WriteAllText(Path.Combine(_directory, "PG_VERSION"), content);

        Assert.Equal(expected, PostgresVersion.OfDataDirectory(_directory));
    }

    [Fact]
    public void Data_directory_without_PG_VERSION_has_no_version() => Assert.Null(PostgresVersion.OfDataDirectory(_directory));

    [Theory]
    [InlineData(100000)]
    [InlineData(110022)]
    [InlineData(180001)]
    public void PostgreSQL_10_and_later_are_supported(int version) => PostgresVersion.EnsureSupported(version, "x");

    [Fact]
    public void PostgreSQL_9_6_is_refused_in_one_line_naming_the_supported_versions()
    {
        var ex = Assert.Throws<PgArchiveException>(() => PostgresVersion.EnsureSupported(90624, "The server at 127.0.0.1:5432"));

        Assert.Equal("The server at 127.0.0.1:5432 is PostgreSQL 9.6, which pgarchive does not support: it supports PostgreSQL 10 to 18 " +
                     "(9.6 and older keep their WAL in pg_xlog and name its functions xlog).", ex.Message);
    }
}

namespace PgArchive.IO;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UnixFilesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-unixfiles-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Private_directory_and_every_parent_it_creates_are_0700()
    {
        var deepest = Path.Combine(_root, "a", "b", "c");

        UnixFiles.CreatePrivateDirectory(deepest);

        foreach (var directory in new[] { "a", "a/b", "a/b/c" })
        {
            Assert.Equal(UnixFiles.PrivateDirectory, File.GetUnixFileMode(Path.Combine(_root, directory)));
        }
    }

    [Fact]
    public void Private_directory_leaves_an_existing_directory_as_it_is()
    {
        var existing = Directory.CreateDirectory(Path.Combine(_root, "there")).FullName;
        File.SetUnixFileMode(existing, (UnixFileMode)0b111_101_000);

        UnixFiles.CreatePrivateDirectory(Path.Combine(existing, "new"));

        Assert.Equal((UnixFileMode)0b111_101_000, File.GetUnixFileMode(existing));
        Assert.Equal(UnixFiles.PrivateDirectory, File.GetUnixFileMode(Path.Combine(existing, "new")));
    }
}

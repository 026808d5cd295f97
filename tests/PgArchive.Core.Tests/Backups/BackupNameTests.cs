namespace PgArchive.Backups;

public sealed class BackupNameTests
{
    [Theory]
    [InlineData("base_000000010000000000000004", true)]
    [InlineData("base_000000010000000000000004_D_000000010000000000000002", true)]
    [InlineData("base_000000010000000000000004_00000028", true)]
    [InlineData("base_00000001000000000000000", false)]
    [InlineData("base_000000010000000000000004/../x", false)]
    [InlineData("LATEST", false)]
    [InlineData("base_00000001000000000000000g", false)]
    public void Names_are_recognised_as_WalG_names_them(string name, bool valid) => Assert.Equal(valid, BackupName.IsValid(name));
}

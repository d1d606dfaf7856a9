package signin

import "testing"

func TestASecurityKeySignInReachesPhishingResistant(t *testing.T) {
	for _, tc := range []struct {
		amr  []string
		want string
	}{
		{[]string{"pwd"}, ACRPassword},
		{[]string{"pwd", "mfa", "otp"}, ACRMFA},
		{[]string{"pwd", "mfa", "hwk"}, ACRPhishingResistant},
		{[]string{"hwk", "user", "mfa"}, ACRPhishingResistant},
		{[]string{"hwk"}, ACRPassword}, // never without the mfa mark
	} {
		if got := ACR(tc.amr); got != tc.want {
			t.Errorf("ACR(%v) = %q, want %q", tc.amr, got, tc.want)
		}
	}
	if !Reaches([]string{"pwd", "mfa", "hwk"}, ACRPhishingResistant) || Reaches([]string{"pwd", "mfa", "otp"}, ACRPhishingResistant) {
		t.Fatal("Reaches(phr) wrong")
	}
}
